"""``weldfusion inspect``: stream table, label counts, validator findings and the plot."""

from __future__ import annotations

import h5py
from ingest_helpers import write_arc_recording
from weldfusion.tools.inspect_recording import cli


def test_lists_streams_labels_and_validator(tmp_path, capsys):
    path = tmp_path / "run.h5"
    write_arc_recording(path, duration=1.0, seed=0)
    with h5py.File(path, "a") as h5:  # a dropout in the camera stream
        h5["streams/video"].create_dataset("gaps", data=[[0.2, 0.3]])
    assert cli([str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    body = "\n".join(out)
    names = [line.split()[0] for line in out[1:5]]
    assert names == ["video", "thermal", "acoustic", "electrical"]  # canonical order
    video = out[1]
    assert "250 Hz" in video and "(16, 16)" in video
    assert "1 gaps (0.100 s)" in video and "gray8" in video
    assert "current A" in out[4] and "5000 Hz" in out[4] and "[0.0000, 1.0000) s" in out[4]
    assert "phases" in body and "deposition 1" in body and "spatter 1 (0.10 s)" in body
    assert out[-1] == "validator: ok"


def test_plot_png(tmp_path, capsys):
    path = tmp_path / "run.h5"
    write_arc_recording(path, duration=1.0, seed=1)
    png = tmp_path / "run.png"
    assert cli([str(path), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert f"wrote {png}" in capsys.readouterr().out


def test_validator_findings_give_exit_code_1(tmp_path, capsys):
    path = tmp_path / "run.h5"
    write_arc_recording(path, duration=1.0, seed=2)
    with h5py.File(path, "a") as h5:
        del h5["streams/thermal"].attrs["units"]
    assert cli([str(path)]) == 1
    out = capsys.readouterr().out
    assert "validator: 1 problem(s)" in out and "/streams/thermal: missing attribute 'units'" in out


def test_missing_file_is_one_line_error(tmp_path, capsys):
    assert cli([str(tmp_path / "none.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.h5" in err[0]


def test_scripts_in_tools_still_run_directly(tmp_path):
    """Verb scripts in ``tools/`` run directly too (``python tools/<verb>.py``)."""
    import subprocess
    import sys
    from pathlib import Path

    import weldfusion.tools.sync as sync_module

    path = tmp_path / "run.h5"
    write_arc_recording(path, duration=0.5, seed=3, streams=("electrical",), labels=False)
    tools = Path(sync_module.__file__).parent
    for script, args in (("sync.py", ["--help"]), ("inspect_recording.py", [str(path)])):
        proc = subprocess.run([sys.executable, str(tools / script), *args], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-500:]
    assert "validator: ok" in proc.stdout
