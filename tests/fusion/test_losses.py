"""Loss terms (Eq. 36-48 and the classification losses), their weights and the loss builder."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from model_fixtures import random_batch, tiny_config, tiny_info, tiny_loss
from weldfusion.fusion.build import build_loss, build_model, similarity_matrix
from weldfusion.fusion.config import LossConfig, LossWeights
from weldfusion.fusion.losses import contrastive_loss, semantic_loss
from weldfusion.recipes.config import ConfigError

pytestmark = pytest.mark.usefixtures("single_thread")

ALL_TERMS = {"phase", "defect", "contrastive", "semantic", "temporal_consistency", "sepconv_l1", "occlusion",
             "reconstruction", "smoothness", "total", "modality"}


def _outputs_and_batch(**cfg):
    torch.manual_seed(0)
    info = tiny_info()
    model = build_model(tiny_config(**cfg), info)
    batch = random_batch(info, 6)
    return model(batch), batch, info


def test_all_terms_and_weighted_total():
    out, batch, info = _outputs_and_batch()
    weights = LossWeights(phase=1.0, defect=2.0, contrastive=0.5, semantic=0.25, temporal_consistency=0.1,
                          sepconv_l1=0.01, occlusion=0.2, reconstruction=0.3, smoothness=0.4, modality=0.7)
    terms = build_loss(tiny_loss(weights=weights), info)(out, batch)
    assert set(terms) == ALL_TERMS
    expected = sum(getattr(weights, k) * v for k, v in terms.items() if k != "total")
    torch.testing.assert_close(terms["total"], expected)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in terms.values())
    torch.testing.assert_close(terms["phase"], F.cross_entropy(out["phase_logits"], batch["phase"]))


def test_switches_remove_terms():
    out, batch, info = _outputs_and_batch()
    terms = build_loss(tiny_loss(contrastive=False, semantic_similarity=False, temporal_consistency=False), info)(
        out, batch)
    assert set(terms) == ALL_TERMS - {"contrastive", "semantic", "temporal_consistency"}
    cfg = tiny_config()
    no_aux = dataclasses.replace(cfg, video=dataclasses.replace(
        cfg.video, occlusion_mask=False, background_suppression=False, adaptive_sampling=False,
        separable_temporal=False), thermal=dataclasses.replace(
        cfg.thermal, occlusion_mask=False, background_suppression=False, separable_temporal=False))
    torch.manual_seed(0)
    out = build_model(no_aux, info)(batch)
    terms = build_loss(tiny_loss(), info)(out, batch)
    assert set(terms) == {"phase", "defect", "contrastive", "semantic", "temporal_consistency", "modality", "total"}


def test_class_weights_and_pos_weight():
    out, batch, info = _outputs_and_batch()
    cw, pw = (1.0, 2.0, 1.0, 1.0, 3.0, 1.0), (5.0,) * 6
    terms = build_loss(tiny_loss(phase_class_weights=cw, defect_pos_weight=pw), info)(out, batch)
    torch.testing.assert_close(terms["phase"], F.cross_entropy(out["phase_logits"], batch["phase"],
                                                               weight=torch.tensor(cw)))
    torch.testing.assert_close(terms["defect"], F.binary_cross_entropy_with_logits(
        out["defect_logits"], batch["defects"], pos_weight=torch.tensor(pw)))
    with pytest.raises(ConfigError, match="phase_class_weights"):
        build_loss(tiny_loss(phase_class_weights=(1.0, 2.0)), info)
    with pytest.raises(ConfigError, match="defect_pos_weight"):
        build_loss(tiny_loss(defect_pos_weight=(1.0,)), info)


def test_contrastive_margin_eq36_39():
    labels = torch.tensor([0, 0, 1, 1])
    z = F.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]]), dim=1)
    # same class identical, different classes 2 apart >= margin -> zero loss
    assert contrastive_loss(z, labels, margin=1.0).item() == pytest.approx(0.0, abs=1e-6)
    # everything collapsed: only the negative pairs pay margin^2 (8 of the 12 ordered pairs)
    same = torch.zeros(4, 2)
    assert contrastive_loss(same, labels, margin=1.0).item() == pytest.approx(8 / 12, rel=1e-4)
    # same-class pairs pay their squared distance
    z2 = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [5.0, 5.0]])
    assert contrastive_loss(z2, labels, margin=1.0).item() == pytest.approx(2 / 12, rel=1e-4)
    assert contrastive_loss(z[:1], labels[:1], 1.0).item() == 0.0


def test_semantic_similarity_eq47():
    phases = ("a", "b", "c")
    s = similarity_matrix((("a", "b", 0.5),), phases)
    torch.testing.assert_close(s, torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    labels = torch.tensor([0, 1, 2])
    # only the (a, b) pairs count: 2 ordered pairs x 0.5 x distance^2 1, over 6 pairs
    assert semantic_loss(z, labels, s).item() == pytest.approx(1 / 6)
    with pytest.raises(ConfigError, match="unknown phase"):
        similarity_matrix((("a", "x", 0.5),), phases)
    with pytest.raises(ConfigError, match="itself"):
        similarity_matrix((("a", "a", 0.5),), phases)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        similarity_matrix((("a", "b", 1.5),), phases)


def test_default_semantic_pairs_match_default_taxonomy():
    s = similarity_matrix(LossConfig().semantic_pairs, tiny_info().phases)
    assert torch.equal(s, s.T) and (s.diagonal() == 0).all() and s.sum() > 0


def test_late_fusion_logits_give_valid_losses():
    out, batch, info = _outputs_and_batch(fusion="late")
    torch.testing.assert_close(out["phase_probs"].sum(1), torch.ones(6))
    terms = build_loss(tiny_loss(), info)(out, batch)
    assert torch.isfinite(terms["total"])


def test_loss_config_validation():
    with pytest.raises(ValueError, match="margin"):
        LossConfig(contrastive_margin=0.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        LossConfig(label_smoothing=1.0)


def test_modality_supervision_uses_only_present_rows():
    out, batch, info = _outputs_and_batch()
    loss = build_loss(tiny_loss(), info)
    present = out["present"].clone()
    present[:, 0] = False  # video absent everywhere: its head must not count
    logits = dict(out["modality_logits"])
    p, d = logits["video"]
    logits["video"] = (p + 1e6, d + 1e6)  # garbage in an absent modality's logits
    a = loss.modality_supervision(logits, present, batch["phase"].long(), batch["defects"].float())
    b = loss.modality_supervision(out["modality_logits"], present, batch["phase"].long(), batch["defects"].float())
    torch.testing.assert_close(a, b)
    assert torch.isfinite(a) and a > 0


def test_modality_heads_only_in_training():
    info = tiny_info()
    model = build_model(tiny_config(), info)
    batch = random_batch(info, 3)
    assert set(model.train()(batch)["modality_logits"]) == set(info.names)
    with torch.no_grad():
        assert "modality_logits" not in model.eval()(batch)  # inference pays nothing for them
    off = build_model(dataclasses.replace(tiny_config(), modality_heads=False), info)
    assert "modality_logits" not in off.train()(batch)


def test_older_checkpoints_load_unchanged():
    from weldfusion.tools.training.loading import upgrade_config, upgrade_state

    old = upgrade_config({"name": "x", "model": {"dim": 64, "video": {"patch_size": 8}}})
    assert old["model"]["modality_heads"] is False
    assert old["model"]["video"] == {"patch_size": 8, "spatial_peak": False}
    assert old["model"]["thermal"] == {"spatial_peak": False}
    assert old["model"]["electrical"] == {"trend_snr": False}
    current = {"model": {"modality_heads": True, "video": {"spatial_peak": True}, "thermal": {"spatial_peak": True},
                         "electrical": {"trend_snr": True}}}
    assert upgrade_config(current) == current  # a checkpoint that has the switches keeps them
    info = tiny_info()
    model = build_model(tiny_config(), info)
    state = dict(model.state_dict())
    state["encoders.electrical.pool_score.bias"] = torch.zeros(1)  # an old softmax-score bias
    assert set(upgrade_state(state, model)) == set(model.state_dict())
    model.load_state_dict(upgrade_state(state, model))
