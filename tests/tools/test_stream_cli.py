"""The ``stream`` tool: CSV / JSONL output, summary, stalls from the command line, bad input."""

from __future__ import annotations

import csv
import json

import pytest
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from weldfusion.tools import stream as stream_tool

pytestmark = pytest.mark.usefixtures("restore_threads")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_data")
    rec = write_recording(d / "a.h5", "a", "Al-steel", "GMAW", seed=4)
    write_recording(d / "b.h5", "b", "Cu-SS", "GMAW", seed=5)
    ck = write_checkpoint(tmp_path_factory.mktemp("cli_ck") / "tiny.pt", tiny_recipe(d))
    return ck, rec


def _one_line_error(capsys, *words) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("weldfusion stream: error:") and "\n" not in err, err
    for w in words:
        assert w in err, err
    return err


def test_stream_writes_csv_and_summary(tiny, tmp_path, capsys):
    ck, rec = tiny
    out = tmp_path / "live.csv"
    assert stream_tool.cli([str(ck), str(rec), "--out", str(out), "--stall", "video:0.8-1.6"]) == 0
    text = capsys.readouterr().out
    assert "stream: 21 hops of 0.1 s" in text and "real-time factor" in text and "alarms:" in text
    assert "sensor video lost (timeout)" in text and "sensor video back" in text
    assert f"wrote {out} (21 rows)" in text
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 21 and [p.name for p in tmp_path.iterdir()] == ["live.csv"]
    assert {"t_s", "t0_s", "phase", "phase_prob", "defect_porosity", "weight_video", "present_video",
            "sensor_video", "alarms", "latency_ms", "compute_ms", "on_time"} <= set(rows[0])
    assert float(rows[0]["t_s"]) == pytest.approx(0.4) and float(rows[-1]["t_s"]) == pytest.approx(2.4)
    assert {r["sensor_video"] for r in rows} >= {"ok", "missing"}
    assert any(r["present_video"] == "0" for r in rows) and rows[-1]["present_video"] == "1"
    assert all(r["on_time"] == "" for r in rows)  # not paced
    for r in rows:
        weights = sum(float(r[f"weight_{m}"]) for m in ("video", "thermal", "acoustic", "electrical"))
        assert weights == pytest.approx(1.0, abs=1e-4)


def test_stream_jsonl_realtime(tiny, tmp_path, capsys):
    ck, rec = tiny
    out = tmp_path / "live.jsonl"
    assert stream_tool.cli([str(ck), str(rec), "--out", str(out), "--realtime", "--hop-s", "0.2", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "% of hops on time" in text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 11
    row = rows[3]
    assert set(row["phase_probs"]) == {"idle", "arc_start", "deposition", "weaving", "parameter_change", "arc_end"}
    assert sum(row["phase_probs"].values()) == pytest.approx(1.0, abs=1e-5)
    assert row["phase"] == max(row["phase_probs"], key=row["phase_probs"].get)
    assert set(row["raw"]) == {"phase_probs", "defect_probs"} and isinstance(row["on_time"], bool)
    assert row["latency_ms"] > 0 and row["present"] == {m: True for m in row["present"]}


@pytest.mark.parametrize("case", ["checkpoint", "recording", "exists", "suffix", "stall", "hop", "not_h5"])
def test_stream_bad_input_is_one_line_exit_2_without_output(tiny, tmp_path, capsys, case):
    ck, rec = tiny
    out = tmp_path / "o.csv"
    args = [str(ck), str(rec), "--out", str(out)]
    words: tuple[str, ...] = ()
    if case == "checkpoint":
        args[0], words = str(tmp_path / "missing.pt"), ("missing.pt",)
    elif case == "recording":
        args[1], words = str(tmp_path / "missing.h5"), ("missing.h5", "no such recording")
    elif case == "exists":
        out.write_text("keep me")
        words = ("already exists", "--force")
    elif case == "suffix":
        args[3], words = str(tmp_path / "o.txt"), (".csv or .jsonl",)
    elif case == "stall":
        args += ["--stall", "video:2-1"]
        words = ("--stall",)
    elif case == "hop":
        args += ["--hop-s", "0"]
        words = ("--hop-s",)
    else:
        bad = tmp_path / "bad.h5"
        bad.write_text("not hdf5")
        args[1], words = str(bad), ("bad.h5",)
    assert stream_tool.cli(args) == 2
    _one_line_error(capsys, *words)
    if case == "exists":
        assert out.read_text() == "keep me"
    else:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.csv")]  # no temporary left


def test_stream_force_overwrites(tiny, tmp_path, capsys):
    ck, rec = tiny
    out = tmp_path / "o.csv"
    out.write_text("old")
    assert stream_tool.cli([str(ck), str(rec), "--out", str(out), "--force", "--quiet"]) == 0
    assert out.read_text().startswith("t_s,")
    assert stream_tool.cli([str(ck), str(rec), "--stall", "sonar:1-2"]) == 2
    _one_line_error(capsys, "sonar")


@pytest.mark.slow
def test_bench_stream_reports_the_stable_names(tmp_path, capsys):
    from weldfusion.tools import bench

    out = tmp_path / "bench.json"
    assert bench.main(["stream", "--quick", "--stream-seconds", "3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["machine"]) >= {"cpu", "cores", "torch", "device"}
    values = {r["name"]: r["value"] for r in report["results"]}
    for name in ("stream.realtime_factor.default", "stream.on_time_share.default", "stream.realtime_factor.high_rate",
                 "stream.ms_per_window.eager.b1", "stream.ms_per_window.onnx.b1", "stream.ms_per_window.torchscript.b1",
                 "stream.realtime_factor.default.torchscript"):
        assert values[name] > 0, name
    assert 0 < values["stream.on_time_share.default"] <= 1


def test_stream_rows_carry_the_box_heads_boxes(tiny, tmp_path):
    """A box head fixed to "arc in the middle of the frame": every CSV / JSONL row with video carries
    that box and its strongest frame's time inside the window; a model without a head has no such column."""
    from _stream_helpers import fixed_box_checkpoint
    from weldfusion.sensors.boxes import CLASSES

    ck, rec = tiny
    boxed = fixed_box_checkpoint(tmp_path / "boxes.pt", tiny_recipe(rec.parent), CLASSES.index("arc"))
    out = tmp_path / "live.csv"
    assert stream_tool.cli([str(boxed), str(rec), "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(out.open()))
    with_video = [r for r in rows if r["present_video"] == "1"]
    assert with_video and all(r["boxes"] == "" or r["present_video"] == "1" for r in rows)
    for r in with_video:
        boxes = json.loads(r["boxes"])
        assert [b["class"] for b in boxes] == ["arc", "arc"] and boxes[0]["xyxy"] == [0.25, 0.25, 0.75, 0.75]
        assert float(r["t0_s"]) - 1e-6 <= float(r["box_frame_s"]) <= float(r["t_s"]) + 1e-6
    lines = tmp_path / "live.jsonl"
    assert stream_tool.cli([str(boxed), str(rec), "--out", str(lines), "--quiet"]) == 0
    first = next(row for row in map(json.loads, lines.read_text().splitlines()) if row["present"]["video"])
    assert first["boxes"][0]["class"] == "arc" and first["t0_s"] <= first["box_frame_s"] <= first["t_s"]
    plain = tmp_path / "plain.csv"
    assert stream_tool.cli([str(ck), str(rec), "--out", str(plain), "--quiet"]) == 0
    assert "boxes" not in plain.read_text().splitlines()[0].split(",")
