"""The assembled model: shapes, gradients, missing modalities, batching, determinism, refinement."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from model_fixtures import random_batch, tiny_config, tiny_info, tiny_loss
from weldfusion.fusion.build import build_loss, build_model
from weldfusion.fusion.model import modality_dropout
from weldfusion.fusion.refine import PredictionRefiner, refine

pytestmark = pytest.mark.usefixtures("single_thread")

FUSIONS = ("attention", "late", "concat")
NAMES = ("video", "thermal", "acoustic", "electrical")
OUTPUT_KEYS = ("phase_logits", "phase_probs", "defect_logits", "defect_probs", "embedding", "modality_weights")


def make(fusion="attention", seed=0, info=None, **kw):
    torch.manual_seed(seed)
    info = info or tiny_info()
    return build_model(tiny_config(fusion=fusion, **kw), info), info


def mixed_presence(b=6) -> torch.Tensor:
    """Every modality present in some samples and absent in others."""
    present = torch.ones(b, 4, dtype=torch.bool)
    present[0, 0] = present[1, 1:] = present[2, 3] = present[3, 2] = present[4, :2] = False
    return present


@pytest.mark.parametrize("fusion", FUSIONS)
def test_model_output_shapes(fusion):
    model, info = make(fusion)
    out = model(random_batch(info, 5))
    assert out["phase_logits"].shape == out["phase_probs"].shape == (5, 6)
    assert out["defect_logits"].shape == out["defect_probs"].shape == (5, 6)
    assert out["embedding"].shape == (5, 16) and out["projection"].shape == (5, 8)
    assert out["modality_weights"].shape == (5, 4)
    torch.testing.assert_close(out["phase_probs"].sum(1), torch.ones(5))
    torch.testing.assert_close(out["modality_weights"].sum(1), torch.ones(5))
    assert set(out["attention"]) == set(NAMES)
    assert set(out["attention"]["video"]) >= {"spatial", "temporal"}
    assert set(out["aux"]) == {"smoothness", "occlusion", "reconstruction", "sepconv_l1", "temporal_consistency"}


@pytest.mark.parametrize("fusion", FUSIONS)
def test_gradient_reaches_every_parameter(fusion):
    model, info = make(fusion)
    batch = random_batch(info, 6, present=mixed_presence())
    loss = build_loss(tiny_loss(), info)(model(batch), batch)
    loss["total"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("fusion", FUSIONS)
def test_all_fifteen_modality_subsets_run(fusion):
    model, info = make(fusion)
    model.eval()
    batch = random_batch(info, 2)
    subsets = [s for r in range(1, 5) for s in itertools.combinations(range(4), r)]
    assert len(subsets) == 15
    with torch.no_grad():
        for subset in subsets:
            present = torch.zeros(2, 4, dtype=torch.bool)
            present[:, list(subset)] = True
            out = model({**batch, "present": present})
            assert torch.isfinite(out["phase_logits"]).all() and torch.isfinite(out["defect_logits"]).all()
            w = out["modality_weights"]
            assert (w[:, [i for i in range(4) if i not in subset]] == 0).all()
            torch.testing.assert_close(w.sum(1), torch.ones(2))


@pytest.mark.parametrize(("fusion", "skip_absent", "training"),
                         [(f, True, t) for f in FUSIONS for t in (False, True)] + [("attention", False, False)])
def test_garbage_in_absent_modality_does_not_change_output(fusion, skip_absent, training):
    model, info = make(fusion, skip_absent=skip_absent)
    model.train(training)
    present = mixed_presence()
    batch = random_batch(info, 6, present=present)
    garbage = dict(batch)
    g = torch.Generator().manual_seed(7)
    for i, name in enumerate(NAMES):
        absent = ~present[:, i]
        x = batch[name].clone()
        x[absent] = 1e6 * torch.randn(x[absent].shape, generator=g)
        garbage[name] = x
    absent_elec = ~present[:, 3]
    garbage["params"] = batch["params"].clone()
    garbage["params"][absent_elec] = 1e6  # params come from the electrical stream
    torch.manual_seed(1)
    a = model(batch)
    torch.manual_seed(1)
    b = model(garbage)
    for key in OUTPUT_KEYS:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)
    for term in a["aux"]:
        torch.testing.assert_close(a["aux"][term], b["aux"][term], atol=1e-6, rtol=0)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_batched_equals_one_by_one(fusion):
    model, info = make(fusion)
    model.eval()
    batch = random_batch(info, 6, present=mixed_presence())
    with torch.no_grad():
        full = model(batch)
        for i in range(6):
            one = model({k: v[i : i + 1] for k, v in batch.items()})
            for key in OUTPUT_KEYS:
                torch.testing.assert_close(one[key], full[key][i : i + 1], atol=1e-5, rtol=1e-4)


def test_same_seed_same_output():
    outs = []
    for _ in range(2):
        model, info = make("attention", seed=3, modality_dropout=0.3)
        batch = random_batch(info, 4, seed=5)
        torch.manual_seed(11)
        outs.append(model(batch))  # training mode: dropout draws and Gumbel frame draws follow the seed
    for key in OUTPUT_KEYS:
        assert torch.equal(outs[0][key], outs[1][key])
    model2, _ = make("attention", seed=4)
    assert not torch.equal(model2(batch)["phase_logits"], outs[0]["phase_logits"])


def test_modality_dropout_keeps_at_least_one_of_the_present():
    torch.manual_seed(0)
    present = torch.rand(500, 4) > 0.3
    present[present.sum(1) == 0, 0] = True
    kept = modality_dropout(present, 0.9)
    assert (kept <= present).all() and kept.any(1).all()
    assert kept.sum() < present.sum()
    assert torch.equal(modality_dropout(present, 0.0), present)


def test_modality_dropout_in_training_only():
    model, info = make("attention", modality_dropout=0.9)
    batch = random_batch(info, 8)
    torch.manual_seed(0)
    out = model(batch)
    assert out["present"].sum() < 32 and out["present"].any(1).all()
    model.eval()
    with torch.no_grad():
        assert model(batch)["present"].all()


def test_model_sizes_itself_from_data_info():
    info = tiny_info(names=("thermal", "acoustic"))
    model, _ = make("attention", info=info)
    assert set(model.encoders) == {"thermal", "acoustic"}
    out = model(random_batch(info, 3))
    assert out["modality_weights"].shape == (3, 2)
    with pytest.raises(ValueError, match="at least one present modality"):
        model({**random_batch(info, 2), "present": torch.zeros(2, 2, dtype=torch.bool)})


def test_attention_maps_zero_for_absent_samples():
    model, info = make("attention")
    model.eval()
    present = mixed_presence()
    with torch.no_grad():
        out = model(random_batch(info, 6, present=present))
    spatial = out["attention"]["video"]["spatial"]
    assert (spatial[~present[:, 0]] == 0).all()
    torch.testing.assert_close(spatial[present[:, 0]].sum(dim=(2, 3)), torch.ones(int(present[:, 0].sum()), 3))


def test_refine_eq49():
    hist = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    torch.testing.assert_close(refine(hist, decay=0.5), torch.tensor([1 / 3, 2 / 3]))
    torch.testing.assert_close(refine(hist[None], decay=1.0), torch.tensor([[0.5, 0.5]]))
    r = PredictionRefiner(window=2, decay=0.5)
    torch.testing.assert_close(r.update(torch.tensor([1.0, 0.0])), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(r.update(torch.tensor([0.0, 1.0])), torch.tensor([1 / 3, 2 / 3]))
    torch.testing.assert_close(r.update(torch.tensor([0.0, 1.0])), torch.tensor([0.0, 1.0]))  # window 2
    r.reset()
    assert len(r.history) == 0
    with pytest.raises(ValueError):
        PredictionRefiner(window=0)


def test_config_roundtrip_and_errors():
    from weldfusion.fusion.config import COMPONENTS, LossConfig, ModelConfig, disable_component
    from weldfusion.recipes.config import ConfigError, from_dict, to_dict

    cfg = from_dict(ModelConfig, {"fusion": "late", "video": {"keep_ratio": 0.25, "temporal_scales": [1, 3]}})
    assert cfg.video.keep_ratio == 0.25 and cfg.video.temporal_scales == (1, 3) and cfg.fusion == "late"
    assert from_dict(ModelConfig, to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="video"):
        from_dict(ModelConfig, {"video": {"keep_ratio": 1.5}})
    with pytest.raises(ConfigError, match="fusion"):
        from_dict(ModelConfig, {"fusion": "sum"})
    with pytest.raises(ConfigError, match="unknown config key"):
        from_dict(ModelConfig, {"thermal": {"occlusion": True}})
    for name in COMPONENTS:
        m, lc = disable_component(ModelConfig(), LossConfig(), name)
        where, key = COMPONENTS[name]
        if where == "model":
            assert getattr(m.video, key) is False and getattr(m.thermal, key) is False
        elif where == "localisation":
            assert getattr(m.localisation, key) is False
        else:
            assert getattr(lc, key) is False
    with pytest.raises(ConfigError, match="unknown component"):
        disable_component(ModelConfig(), LossConfig(), "attention")
    assert dataclasses.replace(ModelConfig()).dim == 64


def test_constant_inputs_give_finite_gradients():
    """Dead sensors / held frames (all-constant windows) and a single-class batch train without NaNs."""
    model, info = make("attention")
    batch = random_batch(info, 4)
    for name in NAMES:
        batch[name] = torch.zeros_like(batch[name])
    batch["phase"] = torch.zeros(4, dtype=torch.long)
    terms = build_loss(tiny_loss(), info)(model(batch), batch)
    terms["total"].backward()
    assert torch.isfinite(terms["total"])
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
