"""`ablate`: modality subsets by masking, component knock-out, attention attribution, the tool end to end."""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest
import torch
from model_fixtures import random_batch, tiny_config, tiny_info
from weldfusion.fusion.build import build_model
from weldfusion.fusion.config import COMPONENTS
from weldfusion.recipes.taxonomy import LabelInterval
from weldfusion.tools.analysis import ablation as A
from weldfusion.tools.analysis.attribution import (
    disc_coverage,
    key_frame_mask,
    modality_weights_by_class,
    msstan_geometry,
    region_share,
)

pytestmark = pytest.mark.usefixtures("single_thread")

NAMES = ("video", "thermal", "acoustic", "electrical")


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    info = tiny_info()
    model = build_model(tiny_config(), info).eval()
    batch = random_batch(info, batch=3)
    with torch.no_grad():
        return model, info, batch, model(batch)


# -- modality subsets and masking --------------------------------------------------------------------------------
def test_every_non_empty_subset_once_largest_first():
    subsets = A.modality_subsets(NAMES)
    assert len(subsets) == 15 and len(set(subsets)) == 15
    assert subsets[0] == NAMES and all(len(a) >= len(b) for a, b in itertools.pairwise(subsets))
    assert all(list(s) == [n for n in NAMES if n in s] for s in subsets)  # canonical order inside
    assert A.modality_subsets(("video", "electrical")) == [("video", "electrical"), ("video",), ("electrical",)]


def test_masking_clears_present_column_zeroes_input_and_drops_empty_windows():
    info = tiny_info()
    present = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 1, 0]], dtype=torch.bool)
    batch = random_batch(info, batch=3, present=present)
    batch["recording_id"] = ["a", "b", "c"]
    out = A.mask_modalities(batch, NAMES, [False, True, True, True])  # video left out
    assert out["present"][:, 0].eq(False).all()
    assert out["present"].tolist() == [[False, True, True, True], [False, True, True, False]]
    assert out["recording_id"] == ["a", "c"]  # window "b" had only video: dropped from every key
    assert out["video"].shape[0] == 2 and out["video"].abs().sum() == 0
    assert torch.equal(out["thermal"], batch["thermal"][[0, 2]]) and out["phase"].tolist() == batch["phase"][[0, 2]].tolist()
    assert torch.equal(batch["present"], present)  # the input batch is left alone
    with pytest.raises(ValueError, match="does not match"):
        A.mask_modalities(batch, NAMES, [True, False])


def test_masked_model_output_ignores_the_removed_modality(tiny_model):
    model, _info, batch, _ = tiny_model
    keep = [True, True, False, True]
    masked = next(iter(A.masked_batches([batch], NAMES, keep)))
    noisy = dict(batch, acoustic=batch["acoustic"] * 50 + 3)  # a different acoustic input...
    masked_noisy = next(iter(A.masked_batches([noisy], NAMES, keep)))
    with torch.no_grad():
        a, b, full = model(masked), model(masked_noisy), model(batch)
    assert torch.allclose(a["phase_probs"], b["phase_probs"])  # ...cannot change the masked prediction
    assert a["modality_weights"][:, 2].eq(0).all()
    assert not torch.allclose(a["phase_probs"], full["phase_probs"])


# -- components -------------------------------------------------------------------------------------------------
def test_component_tables_cover_every_component():
    assert set(A.INFERENCE_SWITCHES) | set(A.NEEDS_RETRAINING) == set(COMPONENTS)
    assert not set(A.INFERENCE_SWITCHES) & set(A.NEEDS_RETRAINING)
    assert {"adaptive_sampling", "knowledge_guidance", "motion_magnification"} <= set(A.INFERENCE_SWITCHES)
    assert {"multiscale_temporal", "separable_temporal", "contrastive"} <= set(A.NEEDS_RETRAINING)
    assert A.parse_retrain_components("needed") == A.NEEDS_RETRAINING
    assert A.parse_retrain_components("all") == tuple(COMPONENTS)
    assert A.parse_retrain_components("contrastive, motion_magnification") == ("contrastive", "motion_magnification")
    with pytest.raises(ValueError, match="unknown component 'nope'"):
        A.parse_retrain_components("contrastive,nope")


def test_knock_out_changes_a_copy_only(tiny_model):
    from weldfusion.fusion.msstan.spatial_attention import SpatialAttention

    model, info, batch, _ = tiny_model
    model = copy.deepcopy(model)
    with torch.no_grad():  # the spatial-peak projection starts at zero; a trained model's is not
        for m in model.modules():
            if isinstance(m, SpatialAttention) and m.peak is not None:
                m.peak.weight.normal_(0.0, 0.2, generator=torch.Generator().manual_seed(0))
        before = model(batch)
    for component in A.INFERENCE_SWITCHES:
        clone, changed = A.knock_out(model, component)
        expect = ["video"] if component == "adaptive_sampling" else ["video", "thermal"]  # thermal samples no frames
        assert changed == expect, component
        with torch.no_grad():
            after = clone(batch)
        assert torch.isfinite(after["phase_probs"]).all(), component
        assert not torch.allclose(before["embedding"], after["embedding"]), component
        assert A.knock_out(model, component)[1] == expect  # the original still has the block
        if component == "adaptive_sampling":
            assert after["attention"]["video"]["frame_index"].shape[1] == info.modality("video").shape[0]
    with pytest.raises(KeyError):
        A.knock_out(model, "contrastive")


# -- attribution ------------------------------------------------------------------------------------------------
def test_grid_geometry_of_msstan_maps():
    g = msstan_geometry((64, 64), (8, 8), patch=2, strides=(1, 1, 2, 2))
    assert g.step == 8.0 and g.origin == 0.5
    assert msstan_geometry((40, 64), (5, 8), patch=4, strides=(1, 2)).step == 8.0
    with pytest.raises(ValueError, match="does not match"):
        msstan_geometry((64, 64), (16, 16), patch=2, strides=(1, 1, 2, 2))


def test_attention_on_the_truth_disc_scores_one_and_uniform_scores_the_area():
    g = msstan_geometry((64, 64), (8, 8), patch=2, strides=(1, 1, 2, 2))
    centre = np.array([[40.5, 24.5]])  # (column, row) = centre of cell (3, 5)
    cov = disc_coverage(g, centre, radius_px=12.0)
    assert cov.shape == (1, 8, 8) and cov.min() >= 0 and cov.max() <= 1
    assert cov[0, 3, 5] == 1.0 and cov[0, 0, 0] == 0.0
    peaked = np.zeros((1, 8, 8))
    peaked[0, 3, 5] = 1.0
    assert region_share(peaked, cov)[0] == pytest.approx(1.0)
    inside = (cov == 1.0) / (cov == 1.0).sum()  # attention spread over the cells inside the disc
    assert region_share(inside, cov)[0] == pytest.approx(1.0)
    weighted = cov / cov.sum()  # attention proportional to coverage: edge cells are partly background
    assert 0.5 < region_share(weighted, cov)[0] < 1.0
    uniform = np.full((1, 8, 8), 1 / 64)
    assert region_share(uniform, cov)[0] == pytest.approx(cov.mean())
    assert cov.mean() == pytest.approx(np.pi * 12**2 / 64**2, rel=0.1)  # area share ~ disc / frame
    far = np.zeros((1, 8, 8))
    far[0, 7, 0] = 1.0
    assert region_share(far, cov)[0] == 0.0


def test_key_frames_are_defect_times_and_phase_transitions():
    phases = [LabelInterval(0.0, 1.0, "idle"), LabelInterval(1.0, 2.0, "deposition"),
              LabelInterval(2.0, 3.0, "deposition")]  # same label on both sides of 2.0: no transition
    defects = [LabelInterval(2.5, 2.7, "porosity")]
    t = np.array([0.5, 0.97, 1.04, 1.2, 2.0, 2.55, 2.8])
    assert key_frame_mask(t, phases, defects, 0.05).tolist() == [False, True, True, False, False, True, False]


def test_modality_weights_by_class_use_windows_with_every_modality():
    w = np.array([[0.4, 0.6], [0.2, 0.8], [1.0, 0.0]])
    present = np.array([[1, 1], [1, 1], [1, 0]], bool)
    d = np.array([[1, 0], [0, 0], [1, 0]], float)
    out = modality_weights_by_class(w, present, np.array([0, 1, 0]), d, ("video", "acoustic"), ("a", "b"),
                                    ("pores", "crack"))
    assert out["modality_weights_per_defect"]["pores"] == {"video": 0.4, "acoustic": 0.6, "n_windows": 1}
    assert out["modality_weights_per_defect"]["none"]["video"] == pytest.approx(0.2)
    assert out["modality_weights_per_defect"]["crack"]["n_windows"] == 0
    assert out["modality_weights_per_phase"]["b"]["acoustic"] == pytest.approx(0.8)
    assert out["modality_weights_windows"] == 2


# -- the tool on a tiny trained run over simulated recordings (with /truth) ---------------------------------------
@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    from _sim_recordings import tiny_sim_recipe, tiny_sim_recordings
    from weldfusion.tools.train import main as train_main

    root = tmp_path_factory.mktemp("ablate")
    data = tiny_sim_recordings(root / "data")
    recipe = tiny_sim_recipe(root / "tiny.yaml", data)
    assert train_main([str(recipe), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run", data


@pytest.mark.slow
def test_ablate_writes_every_subset_component_and_attribution(sim_run, tmp_path, capsys):
    from weldfusion.tools.ablate import cli

    run, data = sim_run
    out = tmp_path / "ab"
    assert cli([str(run), "--data", str(data), "--out", str(out), "--latency-windows", "2", "--quiet"]) == 0
    assert "phase macro-F1" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["ablation.json", "ablation.md", "ablation_modalities.png"]
    r = json.loads((out / "ablation.json").read_text())
    rows = r["modalities"]
    assert len(rows) == 15 and {tuple(x["present"]) for x in rows} == set(A.modality_subsets(NAMES))
    for x in rows:
        assert x["mode"] == "masked" and 0 < x["n_windows"] <= r["reference"]["n_windows"]
        assert 0.0 <= x["phase.macro_f1"] <= 1.0 and "defect.mean_f1" in x
    full = next(x for x in rows if len(x["present"]) == 4)
    assert full["phase.macro_f1"] == pytest.approx(r["reference"]["phase.macro_f1"])
    assert full["phase.macro_f1_drop"] == pytest.approx(0.0, abs=1e-12)
    comps = {c["disabled"]: c for c in r["components"]}
    assert set(comps) == set(COMPONENTS)
    assert comps["motion_magnification"]["mode"] == "inference" and comps["contrastive"]["mode"] == "needs_retraining"
    assert comps["adaptive_sampling"]["modalities"] == ["video"]
    assert isinstance(comps["knowledge_guidance"]["phase.macro_f1"], float)
    att = r["attribution"]
    for m in ("video", "thermal"):
        s = att["spatial"][m]
        assert 0.0 <= s["region_share"] <= 1.0 and 0.0 < s["area_share"] < 1.0 and s["n_frames"] > 0
        assert s["background_share"] == pytest.approx(1 - s["region_share"])
    for t in att["temporal"].values():
        assert 0.0 <= t["keyframe_focus"] <= 1.0 and 0.0 < t["key_frame_share"] < 1.0
    assert att["background_noise"] == att["spatial"]["video"]["background_share"]
    per = att["modality_weights_per_defect"]
    assert "none" in per and all(abs(sum(v[m] for m in NAMES) - 1) < 1e-4 for v in per.values() if v["n_windows"])
    md = (out / "ablation.md").read_text()
    assert "| present | mode |" in md and "Background noise" in md
    assert (out / "ablation_modalities.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_ablate_retrains_a_component(sim_run, tmp_path):
    from weldfusion.tools.analysis.ablate import ablate_checkpoint

    run, data = sim_run
    r = ablate_checkpoint(run, str(data), tmp_path / "ab", retrain_components="contrastive", latency_windows=0,
                          progress=False)
    row = next(c for c in r["components"] if c["disabled"] == "contrastive")
    assert row["mode"] == "retrained" and isinstance(row["phase.macro_f1"], float)
    assert (tmp_path / "ab" / "runs" / "no_contrastive" / "best.pt").is_file()
    from weldfusion.tools.training.loading import load_trained

    assert load_trained(row["run"]).recipe.loss.contrastive is False
    assert r["retrained_reference"] is r["reference"] or r["retrained_reference"] == r["reference"]


def test_ablate_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    from weldfusion.tools.ablate import cli

    out = tmp_path / "ab"
    assert cli([str(tmp_path / "missing.pt"), "--data", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.pt" in err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    assert cli([str(junk), "--data", str(tmp_path), "--out", str(out)]) == 2
    assert "junk.pt" in capsys.readouterr().err
    assert cli([str(junk), "--data", str(tmp_path), "--out", str(out), "--recipe", "fusion_all"]) == 2
    assert "--retrain" in capsys.readouterr().err
    assert cli([str(junk), "--data", str(tmp_path), "--out", str(out), "--retrain-components", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert not out.exists()
