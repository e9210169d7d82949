"""``weldfusion probe``: window statistics, recording-level cross-validation, complementarity report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from weldfusion.tools import probe, synth


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe") / "data"
    code = synth.cli(["--out", str(out), "--pairs", "Al-steel,Cu-SS", "--runs", "3", "--duration-s", "4",
                      "--video-rate", "40", "--thermal-rate", "10", "--acoustic-rate", "8000",
                      "--electrical-rate", "1000", "--missing-prob", "0", "--gap-prob", "0", "--workers", "1"])
    assert code == 0
    return out


def test_probe_reports_f1_per_modality(tiny_dataset, tmp_path, capsys):
    capsys.readouterr()
    out_json = tmp_path / "probe.json"
    assert probe.cli([str(tiny_dataset), "--json", str(out_json)]) == 0
    res = json.loads(out_json.read_text())
    assert set(res["f1"]) == {"video", "thermal", "acoustic", "electrical", "all"}
    assert res["recordings"] == 6 and res["windows"] == res["windows_total"] > 60
    for f1 in res["f1"].values():
        assert 0.0 <= f1["phase.macro_f1"] <= 1.0
        assert {f"phase.{p}" for p in ("idle", "arc_start", "deposition", "weaving", "parameter_change", "arc_end")} <= set(f1)
    # idle (no arc) is easy for every sensor
    assert all(res["f1"][m]["phase.idle"] > 0.8 for m in res["f1"])
    assert set(res["shortfalls"]) == {"video", "thermal", "acoustic", "electrical"}
    text = capsys.readouterr().out
    assert "phase.macro_f1" in text and "complementarity shown:" in text


def test_shortfalls_logic():
    f1 = {
        "video": {"phase.weaving": 0.9, "defect.crack": 0.0},
        "thermal": {"phase.weaving": 0.8, "defect.crack": 0.7},
        "acoustic": {"phase.weaving": 0.3, "defect.crack": 0.6},
    }
    falls = probe.shortfalls(f1, ["video", "thermal", "acoustic"])
    assert [r["label"] for r in falls["video"]] == ["defect.crack"] and falls["video"][0]["gets_it"] == "thermal"
    assert falls["thermal"] == []
    assert [r["label"] for r in falls["acoustic"]] == ["phase.weaving"]


def test_window_features_have_fixed_length():
    rng = np.random.default_rng(0)
    v1 = probe.video_features(rng.integers(0, 255, (16, 64, 64), dtype=np.uint8))
    v2 = probe.video_features(rng.integers(0, 255, (7, 32, 30), dtype=np.uint8))
    assert len(v1) == len(v2) and np.all(np.isfinite(v1))
    t1 = probe.thermal_features(rng.normal(300, 50, (8, 40, 64)).astype(np.float32))
    assert len(t1) == len(probe.thermal_features(rng.normal(300, 50, (3, 20, 30)).astype(np.float32)))
    a1 = probe.acoustic_features(rng.normal(size=6400), 16000.0)
    a2 = probe.acoustic_features(rng.normal(size=(200_000, 2)), 500_000.0)
    assert len(a2) > len(a1) and np.all(np.isfinite(a2))
    e = probe.electrical_features(rng.normal(size=(800, 4)), 2000.0)
    assert np.all(np.isfinite(e))


def test_bad_input(tmp_path, capsys):
    assert probe.cli([str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert probe.cli([str(tmp_path / "empty")]) == 2
    assert "no *.h5" in capsys.readouterr().err
