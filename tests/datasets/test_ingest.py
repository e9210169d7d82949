"""Ingest of a complete raw recording (manifest + files) into a valid HDF5 recording."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ingest_helpers import OFFSETS, edit_manifest
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.validate import validate
from weldfusion.datasets.writer import StreamAppender
from weldfusion.sensors import raw_source
from weldfusion.tools.ingest import cli


def test_cli_ingests_every_stream_into_a_valid_file(raw, raw_template, tmp_path, capsys):
    out = tmp_path / "run.h5"
    assert cli([str(raw / "recording.yaml"), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "video" in printed
    assert validate(out) == []
    with Recording(out) as rec, Recording(raw_template / "truth.h5") as truth:
        assert set(rec.streams) == {"video", "thermal", "acoustic", "electrical"}
        assert rec.meta["recording_id"] == truth.meta["recording_id"] and rec.meta["process"] == "GMAW"
        for name, info in rec.streams.items():
            ref = truth.streams[name]
            assert info.shape == ref.shape and info.regular and info.rate == ref.rate
            assert info.starting_time == pytest.approx(ref.starting_time, abs=1e-12)
            assert info.attrs["time_offset_s"] == pytest.approx(OFFSETS[name])
            assert info.attrs["source_file"].startswith(str(raw))
        assert rec.streams["electrical"].channel_names == ("current", "voltage", "wire_feed", "travel_speed")
        assert rec.streams["electrical"].attrs["channel_units"] == ["A", "V", "m/min", "mm/s"]
        assert rec.phases == truth.phases and rec.defects == truth.defects


def test_time_offset_and_gaps_are_applied(raw, tmp_path):
    def change(d):
        d["streams"]["acoustic"]["time_offset_s"] = 0.25
        d["streams"]["acoustic"]["gaps"] = [[0.1, 0.2]]
    out = tmp_path / "run.h5"
    ingest(edit_manifest(raw, change), out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["acoustic"]
        assert info.starting_time == pytest.approx(-OFFSETS["acoustic"] + 0.25)
        np.testing.assert_allclose(info.gaps, [[0.35, 0.45]])


def test_irregular_csv_times_become_timestamps(raw, tmp_path):
    df = pd.read_csv(raw / "electrical.csv")
    jitter = np.random.default_rng(0).uniform(-2e-5, 2e-5, len(df))  # 10 % of a 0.2 ms period
    df["time_s"] = df["time_s"] + jitter
    df.to_csv(raw / "electrical.csv", index=False, float_format="%.9f")
    out = tmp_path / "run.h5"
    ingest(raw / "recording.yaml", out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["electrical"]
        assert not info.regular and info.rate == pytest.approx(5000.0, rel=1e-3)
        np.testing.assert_allclose(rec.timestamps("electrical"), df["time_s"].to_numpy(), atol=1e-9)
    assert validate(out) == []


def test_force_replaces_existing_output(raw, tmp_path):
    out = tmp_path / "run.h5"
    out.write_bytes(b"old")
    assert cli([str(raw / "recording.yaml"), "--out", str(out), "--force", "--quiet"]) == 0
    assert validate(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "run.h5"]  # no temporary files left


def test_manifest_taxonomy_allows_own_label_names(raw, tmp_path):
    (raw / "phases.csv").write_text("start_s,end_s,label\n0.0,0.5,dwell\n0.5,1.0,bead\n")
    path = edit_manifest(raw, lambda d: d.update(taxonomy={"phases": ["dwell", "bead"], "defects": ["spatter"]}))
    out = tmp_path / "run.h5"
    ingest(path, out, progress=False)
    with Recording(out) as rec:
        assert [p.label for p in rec.phases] == ["dwell", "bead"]
        assert rec.label_names == (("dwell", "bead"), ("spatter",))
    assert validate(out) == []


def test_streams_are_written_in_bounded_blocks(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(raw_source, "BLOCK_BYTES", 8192)
    seen = []
    original = StreamAppender.append

    def spy(self, block, timestamps=None):
        seen.append(np.asarray(block).nbytes)
        return original(self, block, timestamps)

    monkeypatch.setattr(StreamAppender, "append", spy)
    ingest(raw / "recording.yaml", tmp_path / "run.h5", progress=False)
    assert len(seen) > 20 and max(seen) <= 8192


def test_progress_bar_per_stream(raw, tmp_path, capsys):
    assert cli([str(raw / "recording.yaml"), "--out", str(tmp_path / "run.h5")]) == 0
    err = capsys.readouterr().err
    for name in ("video", "thermal", "acoustic", "electrical"):
        assert f"ingest {name}" in err


def test_recipe_taxonomy_checks_the_labels(raw, tmp_path, capsys):
    pytest.importorskip("weldfusion.recipes.tree", reason="the recipe loader is not there")
    (raw / "phases.csv").write_text("start_s,end_s,label\n0.0,0.5,dwell\n0.5,1.0,bead\n")
    (raw / "defects.csv").write_text("start_s,end_s,label\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("data:\n  phases: [dwell, bead]\n  defects: [spatter]\n")
    out = tmp_path / "run.h5"
    assert cli([str(raw / "recording.yaml"), "--out", str(out), "--quiet"]) == 2  # default taxonomy
    assert "unknown phase label 'dwell'" in capsys.readouterr().err
    assert cli([str(raw / "recording.yaml"), "--out", str(out), "--recipe", str(recipe), "--quiet"]) == 0
    with Recording(out) as rec:
        assert rec.label_names == (("dwell", "bead"), ("spatter",))
