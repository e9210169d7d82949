"""``weldfusion probe``: window statistics, recording-level cross-validation, complementarity report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from weldfusion.tools import probe, synth
from weldfusion.tools.analysis import probe as probe_lib


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
    mods = {"video", "thermal", "acoustic", "electrical"}
    assert set(res["f1"]) == mods | {"all"} | {f"without_{m}" for m in mods}
    assert res["recordings"] == 6 and res["windows"] == res["windows_total"] > 60
    for f1 in res["f1"].values():
        assert 0.0 <= f1["phase.macro_f1"] <= 1.0
        assert {f"phase.{p}" for p in ("idle", "arc_start", "deposition", "weaving", "parameter_change", "arc_end")} <= set(f1)
    # idle (no arc) is easy for every sensor
    assert all(res["f1"][m]["phase.idle"] > 0.8 for m in res["f1"])
    assert set(res["shortfalls"]) == {"video", "thermal", "acoustic", "electrical"}
    text = capsys.readouterr().out
    assert "phase.macro_f1" in text and "complementarity shown:" in text and "w/o electrical" in text


def test_shortfalls_logic():
    f1 = {
        "video": {"phase.weaving": 0.9, "defect.crack": 0.0},
        "thermal": {"phase.weaving": 0.8, "defect.crack": 0.7},
        "acoustic": {"phase.weaving": 0.3, "defect.crack": 0.6},
    }
    falls = probe_lib.shortfalls(f1, ["video", "thermal", "acoustic"])
    assert [r["label"] for r in falls["video"]] == ["defect.crack"] and falls["video"][0]["gets_it"] == "thermal"
    assert falls["thermal"] == []
    assert [r["label"] for r in falls["acoustic"]] == ["phase.weaving"]


def test_trend_reads_a_ramp_and_not_flicker():
    rng = np.random.default_rng(0)
    ramp = np.linspace(10.0, 12.0, 16) + rng.normal(0, 0.1, 16)
    change, snr = probe_lib._trend(ramp)
    assert change == pytest.approx(2.0, abs=0.2) and snr > 5
    flicker = 11.0 + rng.normal(0, 1.0, 16)
    assert probe_lib._trend(flicker)[1] < 2
    assert probe_lib._trend(np.ones(1)) == [0.0, 0.0]
    # an RMS envelope growing by 50 % over the window: positive change, log change ~ log(1.5)
    t = np.arange(8000) / 8000.0
    sound = (1.0 + 0.5 * t) * rng.normal(size=t.size)
    rms_change, rms_snr, log_change, _ = probe_lib._envelope_trend(sound, 8000.0)
    assert rms_change == pytest.approx(0.5, abs=0.1) and log_change == pytest.approx(np.log(1.5), abs=0.1)


def test_window_features_have_fixed_length():
    rng = np.random.default_rng(0)
    v1 = probe_lib.video_features(rng.integers(0, 255, (16, 64, 64), dtype=np.uint8))
    v2 = probe_lib.video_features(rng.integers(0, 255, (7, 32, 30), dtype=np.uint8))
    assert len(v1) == len(v2) and np.all(np.isfinite(v1))
    t1 = probe_lib.thermal_features(rng.normal(300, 50, (8, 40, 64)).astype(np.float32))
    assert len(t1) == len(probe_lib.thermal_features(rng.normal(300, 50, (3, 20, 30)).astype(np.float32)))
    a1 = probe_lib.acoustic_features(rng.normal(size=6400), 16000.0)
    a2 = probe_lib.acoustic_features(rng.normal(size=(200_000, 2)), 500_000.0)
    assert len(a2) > len(a1) and np.all(np.isfinite(a2))
    e = probe_lib.electrical_features(rng.normal(size=(800, 4)), 2000.0)
    assert np.all(np.isfinite(e))


def test_bad_input(tmp_path, capsys):
    assert probe.cli([str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert probe.cli([str(tmp_path / "empty")]) == 2
    assert "no *.h5" in capsys.readouterr().err


def test_fsw_welds_are_probed_in_their_own_taxonomy_and_never_mixed(tiny_dataset, tmp_path, capsys):
    fsw = tmp_path / "fsw"
    code = synth.cli(["--out", str(fsw), "--pairs", "Al-Cu:FSW", "--runs", "3", "--duration-s", "6",
                      "--video-rate", "40", "--thermal-rate", "10", "--acoustic-rate", "8000",
                      "--missing-prob", "0", "--gap-prob", "0", "--workers", "1"])
    assert code == 0
    out_json = tmp_path / "probe.json"
    assert probe.cli([str(fsw), "--json", str(out_json)]) == 0
    res = json.loads(out_json.read_text())
    assert "fsw_machine" in res["f1"] and "electrical" not in res["f1"]
    assert {"phase.plunge", "phase.dwell", "phase.retract", "defect.tunnel"} <= set(res["f1"]["all"])
    assert res["f1"]["fsw_machine"]["phase.dwell"] > 0.7  # a standing, turning tool: no traverse, falling torque
    mixed = sorted(tiny_dataset.glob("*.h5"))[:1] + sorted(fsw.glob("*.h5"))[:1]
    capsys.readouterr()
    with pytest.raises(Exception, match="different taxonomies"):
        probe_lib.data_taxonomy(mixed)
