"""Bad input to ``weldfusion ingest``: one-line error naming the file and the problem, exit code != 0,
no partial output, and an existing output file left untouched."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
from ingest_helpers import edit_manifest
from weldfusion.tools.ingest import cli

OLD = b"an older recording that must survive"


def edit_lines(path, fn):
    lines = path.read_text().splitlines()
    fn(lines)
    path.write_text("\n".join(lines) + "\n")


def fails(raw, tmp_path, capsys, *needles, existing: bool = False):
    """Run ingest twice (no output / an existing output + --force); both fail cleanly. Returns the message."""
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / "run.h5"
    messages = []
    for pre_existing in (False, True):
        if pre_existing:
            out.write_bytes(OLD)
        args = [str(raw / "recording.yaml"), "--out", str(out), "--quiet"] + (["--force"] if pre_existing else [])
        assert cli(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err  # one line
        message = err[0]
        assert message.startswith("weldfusion ingest: error: ")
        for needle in needles:
            assert needle in message, message
        if pre_existing:
            assert out.read_bytes() == OLD  # untouched
            assert [p.name for p in out_dir.iterdir()] == ["run.h5"]
        else:
            assert list(out_dir.iterdir()) == []  # nothing left behind, no temporary file either
        messages.append(message)
    return messages[0]


def test_missing_stream_file(raw, tmp_path, capsys):
    (raw / "acoustic.wav").unlink()
    fails(raw, tmp_path, capsys, "acoustic.wav", "no such file")


def test_missing_manifest(tmp_path, capsys):
    assert cli([str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "run.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.yaml" in err[0] and "no such manifest file" in err[0]
    assert not (tmp_path / "run.h5").exists()


def test_unreadable_video(raw, tmp_path, capsys):
    (raw / "video.mp4").write_bytes(np.random.default_rng(0).bytes(20_000))
    fails(raw, tmp_path, capsys, "video.mp4", "unreadable video")


def test_truncated_mp4(raw, tmp_path, capsys):
    data = (raw / "video.mp4").read_bytes()
    (raw / "video.mp4").write_bytes(data[: len(data) * 9 // 10])  # the index (moov) is lost
    fails(raw, tmp_path, capsys, "video.mp4", "unreadable video")


def test_truncated_mkv(raw, tmp_path, capsys):
    path = raw / "video.mkv"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 250.0, (16, 16), isColor=False)
    for i in range(250):
        writer.write(np.full((16, 16), i % 256, np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 9 // 10])
    edit_manifest(raw, lambda d: d["streams"]["video"].update(path="video.mkv"))
    fails(raw, tmp_path, capsys, "video.mkv", "truncated video", "of the 250 frames")


def test_wav_with_broken_header(raw, tmp_path, capsys):
    data = bytearray((raw / "acoustic.wav").read_bytes())
    data[12:16] = b"junk"  # the 'fmt ' chunk id
    (raw / "acoustic.wav").write_bytes(bytes(data))
    fails(raw, tmp_path, capsys, "acoustic.wav", "unreadable audio file")


def test_truncated_wav(raw, tmp_path, capsys):
    data = (raw / "acoustic.wav").read_bytes()
    (raw / "acoustic.wav").write_bytes(data[: len(data) // 2])
    fails(raw, tmp_path, capsys, "acoustic.wav", "truncated WAV")


def test_csv_missing_mapped_column(raw, tmp_path, capsys):
    edit_lines(raw / "electrical.csv", lambda ls: ls.__setitem__(0, ls[0].replace("voltage [V]", "U_arc")))
    fails(raw, tmp_path, capsys, "electrical.csv", "column 'voltage [V]'", "not found")


def _set_cell(row: int, column: int, value: str):
    """An ``edit_lines`` editor that replaces one CSV cell (row 0 = the header line)."""
    def edit(lines):
        cells = lines[row].split(",")
        cells[column] = value
        lines[row] = ",".join(cells)
    return edit


def test_csv_nan(raw, tmp_path, capsys):
    edit_lines(raw / "electrical.csv", _set_cell(100, 2, "nan"))
    fails(raw, tmp_path, capsys, "electrical.csv", "NaN", "'voltage [V]'", "line 101")


def test_csv_empty_cell(raw, tmp_path, capsys):
    edit_lines(raw / "electrical.csv", _set_cell(7, 1, ""))
    fails(raw, tmp_path, capsys, "electrical.csv", "NaN / empty value", "'current [A]'", "line 8")


def test_csv_non_monotonic_time(raw, tmp_path, capsys):
    edit_lines(raw / "electrical.csv", lambda ls: ls.__setitem__(slice(50, 52), [ls[51], ls[50]]))
    fails(raw, tmp_path, capsys, "electrical.csv", "not monotonic", "line 52")


def test_csv_duplicated_time(raw, tmp_path, capsys):
    edit_lines(raw / "electrical.csv", lambda ls: ls.insert(31, ls[30]))
    fails(raw, tmp_path, capsys, "electrical.csv", "duplicated time", "line 32")


def test_manifest_unknown_key(raw, tmp_path, capsys):
    edit_manifest(raw, lambda d: d["streams"]["video"].update(fps=250))
    fails(raw, tmp_path, capsys, "recording.yaml", "streams.video.fps", "unknown key")


def test_manifest_unknown_top_level_key(raw, tmp_path, capsys):
    edit_manifest(raw, lambda d: d.update(operator="me"))
    fails(raw, tmp_path, capsys, "recording.yaml", "operator: unknown key")


def test_manifest_wrong_type(raw, tmp_path, capsys):
    edit_manifest(raw, lambda d: d["streams"]["thermal"].update(scale="fast"))
    fails(raw, tmp_path, capsys, "recording.yaml", "streams.thermal.scale", "expected")


def test_manifest_unknown_modality(raw, tmp_path, capsys):
    edit_manifest(raw, lambda d: d["streams"].update(lidar={"path": "x.bin"}))
    fails(raw, tmp_path, capsys, "recording.yaml", "streams.lidar", "unknown modality")


def test_manifest_not_yaml(raw, tmp_path, capsys):
    (raw / "recording.yaml").write_text("streams: [video: {path: a\n")
    fails(raw, tmp_path, capsys, "recording.yaml", "not valid YAML")


def test_labels_outside_recording(raw, tmp_path, capsys):
    (raw / "phases.csv").write_text("start_s,end_s,label\n0.0,0.5,idle\n0.5,1.7,deposition\n")
    fails(raw, tmp_path, capsys, "phases.csv", "line 3", "outside the recording")


def test_labels_unknown_name(raw, tmp_path, capsys):
    (raw / "defects.csv").write_text("start_s,end_s,label\n0.2,0.3,blowhole\n")
    fails(raw, tmp_path, capsys, "defects.csv", "unknown defect label 'blowhole'")


def test_output_exists_without_force(raw, tmp_path, capsys):
    out = tmp_path / "run.h5"
    out.write_bytes(OLD)
    assert cli([str(raw / "recording.yaml"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "output exists" in err[0] and "--force" in err[0]
    assert out.read_bytes() == OLD


def test_subprocess_exit_code_and_single_line(raw, tmp_path):
    (raw / "video.mp4").write_bytes(b"\x00" * 5000)
    out = tmp_path / "run.h5"
    proc = subprocess.run([sys.executable, "-m", "weldfusion.tools.ingest", str(raw / "recording.yaml"),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [f"weldfusion ingest: error: {raw / 'video.mp4'}: unreadable video (cannot be opened: "
                     "damaged, truncated or unsupported codec)"]
    assert not out.exists()
