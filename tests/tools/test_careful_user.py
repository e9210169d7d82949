"""What a careful user notices (issue 18): terminal escapes, locked run folders, NaN data, one file."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import yaml
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import make_recordings, write_recording
from weldfusion.tools import evaluate as evaluate_tool
from weldfusion.tools import inspect_recording, predict, stream

pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("careful")
    data = d / "data"
    data.mkdir()
    write_recording(data / "a.h5", "a", "Al-steel", "GMAW", seed=4)
    write_recording(data / "b.h5", "b", "Cu-SS", "GMAW", seed=5)
    return data, write_checkpoint(d / "ck.pt", tiny_recipe(data))


def test_inspect_escapes_control_characters_from_the_file(tiny, tmp_path, capsys):
    data, _ = tiny
    rec = tmp_path / "r.h5"
    shutil.copy(data / "a.h5", rec)
    with h5py.File(rec, "r+") as h5:
        h5.attrs["recording_id"] = "run\x1b[2J\x1b[31mred\x07"
    assert inspect_recording.cli([str(rec)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[2J" in out


def test_nan_sensor_is_missing_with_one_warning_naming_the_file(tiny, tmp_path, capsys):
    """Documented handling: non-finite samples are missing data; every reader says so once."""
    data, ck = tiny
    folder = tmp_path / "nan"
    shutil.copytree(data, folder)
    for f in folder.glob("*.h5"):
        with h5py.File(f, "r+") as h5:
            h5["streams/electrical/data"][...] = np.nan
    rec = folder / "a.h5"
    assert stream.cli([str(ck), str(rec), "--quiet", "--out", str(tmp_path / "live.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    warnings = [ln for ln in err if "warning:" in ln]
    assert warnings == ["weldfusion stream: warning: electrical: non-finite samples (NaN/inf) are treated as missing"]
    rows = list(csv.DictReader((tmp_path / "live.csv").open()))
    probs = [float(v) for r in rows for k, v in r.items() if k.startswith(("defect_", "phase_prob"))]
    assert len(rows) > 2 and probs and np.all(np.isfinite(probs))
    assert all(r["present_electrical"] == "0" for r in rows)  # the dead sensor is missing, not NaN
    assert predict.cli([str(ck), "--data", str(folder), "--out", str(tmp_path / "pred"), "--quiet", "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert f"weldfusion predict: warning: {rec}: electrical: non-finite samples" in err
    assert evaluate_tool.cli([str(ck), "--data", str(folder), "--out", str(tmp_path / "ev"), "--split", "all",
                              "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Input contains NaN" not in err


@pytest.mark.parametrize("kind", ["file", "folder of one"])
def test_evaluate_one_recording_scores_it(tiny, tmp_path, capsys, kind):
    data, ck = tiny
    target = data / "a.h5"
    if kind == "folder of one":
        (tmp_path / "one").mkdir()
        target = shutil.copy(data / "a.h5", tmp_path / "one" / "a.h5")
        target = target.parent
    assert evaluate_tool.cli([str(ck), "--data", str(target), "--out", str(tmp_path / "ev"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "scoring all of them (as --split all)" in out and (tmp_path / "ev" / "metrics.json").is_file()


def test_two_trainings_on_one_folder_the_second_is_refused(tmp_path):
    data = make_recordings(tmp_path / "data", per_pair=2)
    recipe = tiny_recipe(data)
    recipe["train"]["epochs"] = 30
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "weldfusion.tools.train", str(tmp_path / "r.yaml"), "--out", str(run), "--quiet"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (run / ".lock").exists():
            time.sleep(0.1)
        assert (run / ".lock").exists(), "first training never started"
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another train run is using this folder" in lines[0] and str(run) in lines[0]
    finally:
        first.terminate()
        first.wait(timeout=60)
