"""``weldfusion rate-sweep``: the same scenarios with one sensor at another rate, scored by one checkpoint."""

from __future__ import annotations

import json

import pytest
from weldfusion.tools import rate_sweep


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from _training_data import train_tiny_run

    return train_tiny_run(tmp_path_factory.mktemp("sweeprun"), epochs=1)[0]


@pytest.mark.slow
def test_sweep_scores_the_default_and_each_rate(tiny_run, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = rate_sweep.cli([str(tiny_run), "--out", str(out), "--factors", "2", "--modalities", "acoustic",
                           "--runs", "1", "--duration-s", "4", "--workers", "1", "--quiet"])
    assert code == 0
    res = json.loads((out / "rate_sweep.json").read_text())
    rows = res["rows"]
    assert [(r["modality"], r["factor"]) for r in rows] == [("default", 1.0), ("acoustic", 2.0)]
    assert rows[1]["rate_hz"] == 32000.0 and rows[0]["d_phase"] == 0.0
    for r in rows:
        assert 0.0 <= r["phase_macro_f1"] <= 1.0
        assert r["d_phase"] == pytest.approx(100 * (r["phase_macro_f1"] - rows[0]["phase_macro_f1"]))
    assert (out / "rate_sweep.md").read_text().startswith("| sensor |")
    assert sorted(p.name for p in (out / "data").iterdir()) == ["acoustic_x2", "default"]
    assert "acoustic | 2x | 32000" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--factors", "fast"], ["--factors", "0"], ["--modalities", "smell"],
                                 ["--runs", "0"], ["--duration-s", "1"]])
def test_bad_options_are_one_line_and_exit_2(bad, tmp_path, capsys):
    assert rate_sweep.cli(["no.pt", "--out", str(tmp_path / "o"), *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rate-sweep" in err[0]
    assert not (tmp_path / "o").exists()
