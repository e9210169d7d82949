"""``weldfusion bench model``: the default model on the demo window layout, and its JSON rows."""

from __future__ import annotations

import json

import pytest
import torch
from weldfusion.fusion.build import build_model
from weldfusion.fusion.config import ModelConfig
from weldfusion.tools import bench
from weldfusion.tools.benchmarks import model as bench_model

pytestmark = pytest.mark.usefixtures("single_thread")

NAMES = {
    "model.params.fusion": "count",
    "model.ms_per_window.fusion.b1": "ms",
    "model.ms_per_window.video_encoder.b1": "ms",
    "model.ms_per_window.video_encoder_no_sampling.b1": "ms",
    "model.ms_per_window.thermal_encoder.b1": "ms",
    "model.ms_per_window.acoustic_encoder.b1": "ms",
    "model.ms_per_window.electrical_encoder.b1": "ms",
    "model.windows_per_s.fusion.b32": "windows/s",
}


def test_default_model_on_demo_windows():
    info = bench_model.demo_info()
    torch.manual_seed(0)
    model = build_model(ModelConfig(), info).eval()
    n = sum(p.numel() for p in model.parameters())
    assert 50_000 < n < 1_000_000
    batch = bench_model.random_batch(info, 2)
    with torch.inference_mode():
        out = model(batch)
    assert out["phase_logits"].shape == (2, 6) and out["defect_logits"].shape == (2, 6)
    assert out["attention"]["video"]["frame_index"].shape == (2, 8)  # 16 frames, keep_ratio 0.5
    assert out["attention"]["thermal"]["frame_index"].shape == (2, 8)  # thermal: no sampling by default
    assert out["attention"]["video"]["spatial"].shape == (2, 8, 8, 8)


def test_bench_cli_json(tmp_path):
    out = tmp_path / "b.json"
    assert bench.main(["model", "--quick", "--model-threads", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    got = {r["name"]: r for r in report["results"]}
    for name, unit in NAMES.items():
        assert got[name]["unit"] == unit and got[name]["value"] > 0
    assert report["machine"]["torch"] == torch.__version__
