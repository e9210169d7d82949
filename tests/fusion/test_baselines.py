"""Comparison networks (R(2+1)D-18, CNN+LSTM, transformer), SVM features, recipes and the baselines bench."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from model_fixtures import (
    random_batch,
    tiny_config,
    tiny_info,
    tiny_loss,
)
from weldfusion.fusion.baselines.config import CNNLSTMConfig, TransformerBaselineConfig
from weldfusion.fusion.baselines.svm_features import (
    FeatureSVM,
    SVMFeatures,
    hog,
    hog_size,
)
from weldfusion.fusion.build import build_loss, build_model
from weldfusion.fusion.config import ModelConfig
from weldfusion.recipes.config import ConfigError, from_dict

pytestmark = pytest.mark.usefixtures("single_thread")

ARCHS = ("r2plus1d18", "cnn_lstm", "transformer")
OUTPUT_KEYS = ("phase_logits", "phase_probs", "defect_logits", "defect_probs", "embedding", "projection",
               "modality_weights", "present", "attention", "aux")


def tiny_baselines(arch: str) -> ModelConfig:
    cfg = tiny_config(arch=arch)
    small = dataclasses.replace(cfg.baselines,
                                cnn_lstm=CNNLSTMConfig(frame_channels=(4, 8), signal_channels=(4, 8), hidden=8),
                                transformer=TransformerBaselineConfig(layers=1, heads=2, ff_mult=2, dropout=0.0,
                                                                      video_tubelet=(2, 4, 4),
                                                                      thermal_tubelet=(2, 4, 4)))
    return dataclasses.replace(cfg, baselines=small)


def make(arch: str, seed: int = 0, info=None):
    torch.manual_seed(seed)
    info = info or tiny_info()
    return build_model(tiny_baselines(arch), info), info


@pytest.mark.parametrize("arch", ARCHS)
def test_output_dict_matches_the_fusion_model(arch):
    model, info = make(arch)
    out = model(random_batch(info, 3))
    assert set(out) == set(OUTPUT_KEYS)
    assert out["phase_logits"].shape == out["phase_probs"].shape == (3, 6)
    assert out["defect_logits"].shape == out["defect_probs"].shape == (3, 6)
    assert out["embedding"].shape == (3, 512 if arch == "r2plus1d18" else 16)
    assert out["projection"].shape == (3, 8) and out["modality_weights"].shape == (3, 4)
    torch.testing.assert_close(out["phase_probs"].sum(1), torch.ones(3))
    torch.testing.assert_close(out["modality_weights"].sum(1), torch.ones(3))
    assert out["aux"] == {}
    if arch == "r2plus1d18":
        assert (out["modality_weights"][:, 0] == 1).all()  # video only


@pytest.mark.parametrize("arch", ARCHS)
def test_backward_reaches_every_parameter(arch):
    model, info = make(arch)
    batch = random_batch(info, 4)
    terms = build_loss(tiny_loss(), info)(model(batch), batch)
    assert set(terms) >= {"phase", "defect", "contrastive", "total"}
    terms["total"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("arch", ("cnn_lstm", "transformer"))
def test_absent_modality_is_ignored(arch):
    model, info = make(arch)
    model.eval()
    present = torch.ones(3, 4, dtype=torch.bool)
    present[0, 1] = present[1, 2:] = present[2, 0] = False
    batch = random_batch(info, 3, present=present)
    noisy = dict(batch)
    for i, name in enumerate(info.names):
        x = batch[name].clone()
        x[~present[:, i]] = 50.0 * torch.randn_like(x[~present[:, i]])
        noisy[name] = x
    with torch.no_grad():
        a, b = model(batch), model(noisy)
    torch.testing.assert_close(a["phase_logits"], b["phase_logits"])
    torch.testing.assert_close(a["defect_logits"], b["defect_logits"])
    w = a["modality_weights"]
    assert (w[~present] == 0).all()
    torch.testing.assert_close(w.sum(1), torch.ones(3))


@pytest.mark.parametrize("arch", ("cnn_lstm", "transformer"))
def test_batched_equals_one_by_one(arch):
    model, info = make(arch)
    model.eval()
    batch = random_batch(info, 3)
    with torch.no_grad():
        full = model(batch)["phase_logits"]
        single = [model({k: v[i : i + 1] for k, v in batch.items()})["phase_logits"] for i in range(3)]
    torch.testing.assert_close(full, torch.cat(single), rtol=1e-4, atol=1e-5)


def test_r2plus1d_uses_a_grey_stem_and_needs_video():
    model, _ = make("r2plus1d18")
    assert model.net.stem[0].in_channels == 1 and model.net.stem[0].out_channels == 45
    with pytest.raises(ValueError, match="video"):
        build_model(tiny_baselines("r2plus1d18"), tiny_info(names=("thermal", "acoustic", "electrical")))


def test_transformer_tokens_and_heads_check():
    model, info = make("transformer")
    # video (6,16,16)/(2,4,4) = 48, thermal (4,12,16)/(2,4,4) = 24, acoustic 1600/(20 ms at 4 kHz) = 20,
    # electrical 200/(20 ms at 500 Hz) = 20, + class token
    assert model.n_tokens == 1 + 48 + 24 + 20 + 20
    cfg = tiny_baselines("transformer")
    bad = dataclasses.replace(cfg, baselines=dataclasses.replace(
        cfg.baselines, transformer=dataclasses.replace(cfg.baselines.transformer, heads=3)))
    with pytest.raises(ValueError, match="multiple"):
        build_model(bad, info)


def test_arch_is_checked_by_the_config():
    with pytest.raises(ConfigError, match="model.arch"):
        from_dict(ModelConfig, {"arch": "resnet"}, prefix="model")
    with pytest.raises(ConfigError, match="model.baselines.transformer"):
        from_dict(ModelConfig, {"baselines": {"transformer": {"layerz": 2}}}, prefix="model")
    assert ModelConfig().arch == "msstan"


@pytest.mark.parametrize("recipe", ["baseline_r2plus1d18", "baseline_cnn_lstm", "baseline_transformer"])
def test_baseline_recipes_build_and_run(recipe):
    from weldfusion.recipes.tree import load_recipe

    r = load_recipe(recipe, ["model.baselines.transformer.layers=1"])
    assert r.name == recipe and r.model.arch == recipe.removeprefix("baseline_")
    assert r.data == load_recipe("fusion_all").data and r.train == load_recipe("fusion_all").train  # same harness
    assert not r.loss.contrastive and not r.loss.semantic_similarity
    torch.manual_seed(0)
    info = tiny_info()
    model = build_model(r.model, info)
    batch = random_batch(info, 2)
    out = model(batch)
    assert out["phase_probs"].shape == (2, 6)
    build_loss(r.loss, info)(out, batch)["total"].backward()


# -- hand-crafted features + SVM ----------------------------------------------------------------------------
def test_hog_of_a_vertical_edge_votes_for_horizontal_gradients():
    frames = np.zeros((2, 16, 16))
    frames[:, :, 8:] = 1.0
    h = hog(frames)
    assert h.shape == (2, hog_size(16, 16)) == (2, 3 * 3 * 4 * 9)
    block = h[0].reshape(3, 3, 4, 9)[1, 1]  # centre block straddles the edge
    assert block[:, [0, 8]].sum() > 0.99 * block.sum()  # 0 degrees sits between the first and last bin
    assert np.all(h >= 0) and np.all(h <= 1.0)
    assert hog(np.zeros((1, 40, 64))).shape == (1, hog_size(40, 64))


def test_svm_features_shape_and_absent_modalities():
    info = tiny_info()
    f = SVMFeatures(info)
    present = torch.ones(3, 4, dtype=torch.bool)
    present[1, 2] = False
    batch = random_batch(info, 3, present=present)
    x = f.batch(batch)
    assert x.shape == (3, f.size) == (3, len(f.names))
    assert np.isfinite(x).all()
    acoustic = [i for i, n in enumerate(f.names) if n.startswith("acoustic.")]
    assert len(acoustic) == 9 + 8 and (x[1, acoustic] == 0).all() and (x[0, acoustic] != 0).any()
    flags = [f.names.index(f"present.{n}") for n in info.names]
    assert x[1, flags].tolist() == [1, 1, 0, 1]


def test_feature_svm_probabilities():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    phase = (x[:, 0] > 0).astype(int) * 2  # classes 0 and 2 of 4
    defects = np.stack([(x[:, 1] > 0.5), np.zeros(60), np.r_[1, np.zeros(59)]], axis=1).astype(int)
    svm = FeatureSVM(4, C=1.0).fit(x, phase, defects)
    p, d = svm.predict_proba(x)
    assert p.shape == (60, 4) and d.shape == (60, 3)
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert (p[:, [1, 3]] == 0).all() and (p.argmax(1) == phase).mean() > 0.9
    assert svm.constant_defects == [1, 2] and np.allclose(d[:, 2], 1 / 60)
    with pytest.raises(ValueError, match="two phase classes"):
        FeatureSVM(4).fit(x, np.zeros(60, int), defects)


# -- bench baselines ------------------------------------------------------------------------------------------
def test_bench_baselines_rows(monkeypatch):
    import argparse

    from weldfusion.tools.benchmarks import baselines as bench_baselines

    monkeypatch.setattr(bench_baselines, "demo_info", lambda: tiny_info())
    rows = bench_baselines.run(argparse.Namespace(quick=True, device="cpu", model_threads=1))
    names = {r["name"]: r for r in rows}
    for model in ("fusion_all", "r2plus1d18", "cnn_lstm", "transformer"):
        assert names[f"model.ms_per_window.{model}.b1"]["value"] > 0
        assert names[f"model.windows_per_s.{model}.b32"]["unit"] == "windows/s"
        assert names[f"model.gflops.{model}"]["value"] > 0
    assert names["model.speedup.fusion_all_vs_r2plus1d18.b1"]["unit"] == "x"
    assert names["model.compute_ratio.r2plus1d18_vs_fusion_all"]["value"] > 1
    for model in ("fusion_all", "cnn_lstm"):  # the frozen TorchScript path, timed in the same rounds
        assert names[f"model.ms_per_window.{model}.torchscript.b1"]["value"] > 0
    assert names["model.speedup.fusion_all_torchscript_vs_cnn_lstm.b1"]["value"] > 0
    gflops, ms = names["model.gflops.cnn_lstm"]["value"], names["model.ms_per_window.cnn_lstm.b1"]["value"]
    assert names["model.gflop_per_s.cnn_lstm.b1"]["value"] == pytest.approx(gflops / (ms / 1000.0))
