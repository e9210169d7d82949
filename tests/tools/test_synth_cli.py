"""``weldfusion synth``: files, summary, refusal to overwrite, input errors, determinism across workers."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from weldfusion.datasets import simulated_set
from weldfusion.datasets.validate import validate
from weldfusion.tools import synth

FAST = ["--duration-s", "3.5", "--video-rate", "40", "--thermal-rate", "10", "--acoustic-rate", "8000",
        "--electrical-rate", "1000"]


def _run(tmp_path, *extra: str, name: str = "out") -> tuple[int, object]:
    out = tmp_path / name
    code = synth.cli(["--out", str(out), *FAST, *extra])
    return code, out


def test_writes_valid_recordings_and_summary(tmp_path, capsys):
    code, out = _run(tmp_path, "--pairs", "Al-steel,Ti-Ni:TIG", "--runs", "2", "--workers", "1", "--seed", "3")
    assert code == 0
    files = sorted(p.name for p in out.glob("*.h5"))
    assert files == ["al-steel_gmaw_0000.h5", "al-steel_gmaw_0001.h5", "ti-ni_tig_0000.h5", "ti-ni_tig_0001.h5"]
    assert all(validate(out / f) == [] for f in files)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_runs"] == 4 and summary["runs_per_pair"] == {"Al-steel": 2, "Ti-Ni": 2}
    assert set(summary["label_counts"]["phases"]) == {"idle", "arc_start", "deposition", "weaving", "parameter_change", "arc_end"}
    assert set(summary["label_counts"]["defects"]) == {"porosity", "lack_of_fusion", "burn_through", "spatter", "undercut", "crack"}
    prev = summary["defect_prevalence"]
    assert prev["windows"] > 0 and 0.0 <= prev["any"] <= 1.0
    run0 = summary["runs"][0]
    assert run0["recording_id"] == "al-steel_gmaw_0000" and run0["duration_s"] == pytest.approx(3.5)
    with h5py.File(out / "ti-ni_tig_0000.h5") as f:
        assert f.attrs["process"] == "TIG" and f.attrs["material_pair"] == "Ti-Ni"
    text = capsys.readouterr().out
    assert "al-steel" not in text.lower().split("\n")[0]  # table header first
    assert "any defect" in text and "4 recordings" in text


def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    code, out = _run(tmp_path, "--pairs", "Cu-SS", "--runs", "1", "--workers", "1")
    assert code == 0
    before = (out / "cu-ss_gmaw_0000.h5").stat().st_mtime_ns
    capsys.readouterr()
    code, _ = _run(tmp_path, "--pairs", "Cu-SS", "--runs", "1", "--workers", "1")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "exists" in err[0] and "--force" in err[0]
    assert (out / "cu-ss_gmaw_0000.h5").stat().st_mtime_ns == before
    code, _ = _run(tmp_path, "--pairs", "Cu-SS", "--runs", "1", "--workers", "1", "--force")
    assert code == 0 and validate(out / "cu-ss_gmaw_0000.h5") == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pairs", "Mg-Zn"], "unknown material pair"),
        (["--pairs", "Ti-Ni:FSW"], "not simulated"),
        (["--runs", "0"], "--runs"),
        (["--duration-s", "1"], "--duration-s"),
        (["--duration-s", "ten"], "--duration-s"),
        (["--missing-prob", "1.5"], "missing_prob"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    code = synth.cli(["--out", str(out), *FAST, *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and err[0].startswith("weldfusion synth: error:")
    assert not out.exists()


def test_same_data_whatever_the_workers_and_pairs_listed(tmp_path):
    code, a = _run(tmp_path, "--pairs", "Al-steel,Cu-SS", "--runs", "1", "--workers", "2", name="a")
    assert code == 0
    code, b = _run(tmp_path, "--pairs", "Cu-SS", "--runs", "1", "--workers", "1", name="b")
    assert code == 0
    with h5py.File(a / "cu-ss_gmaw_0000.h5") as fa, h5py.File(b / "cu-ss_gmaw_0000.h5") as fb:
        for m in fa["streams"]:
            np.testing.assert_array_equal(fa[f"streams/{m}/data"][()], fb[f"streams/{m}/data"][()])
        np.testing.assert_array_equal(fa["labels/phases"][()], fb["labels/phases"][()])


def test_parse_helpers():
    assert simulated_set.parse_duration("8-12") == (8.0, 12.0)
    assert simulated_set.parse_duration("10") == (10.0, 10.0)
    assert simulated_set.parse_pairs("Al-steel, Ti-Ni:TIG") == [("Al-steel", "GMAW"), ("Ti-Ni", "TIG")]
    with pytest.raises(Exception, match="listed twice"):
        simulated_set.parse_pairs("Cu-SS,Cu-SS:GMAW")
