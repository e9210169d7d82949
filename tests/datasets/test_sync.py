"""Clock-offset estimation: recovers simulated sensor clock offsets from shared arc events."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import yaml
from ingest_helpers import OFFSETS, RATES, write_arc_recording
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.manifest import load_manifest
from weldfusion.datasets.raw_export import export_raw
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.sync import estimate_offsets
from weldfusion.tools.sync import cli


def tolerance(name: str, reference: str = "electrical") -> float:
    """One sample period of the slower stream of the pair, or 2 ms, whichever is larger."""
    return max(1.0 / min(RATES[name], RATES[reference]), 2e-3)


def raw_without_offsets(tmp_path, offsets=OFFSETS, seed=0, duration=3.0):
    write_arc_recording(tmp_path / "truth.h5", duration=duration, seed=seed, offsets=offsets)
    return export_raw(tmp_path / "truth.h5", tmp_path / "raw", include_offsets=False, progress=False)


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_offsets_within_one_sample_period(tmp_path, seed):
    manifest = raw_without_offsets(tmp_path, seed=seed)
    assert "time_offset_s" not in manifest.read_text()
    results = estimate_offsets(load_manifest(manifest), "electrical", progress=False)
    assert set(results) == {"video", "thermal", "acoustic", "electrical"}
    assert results["electrical"].offset_s == 0.0 and results["electrical"].confidence == 1.0
    for name in ("video", "thermal", "acoustic"):
        r = results[name]
        assert abs(r.offset_s - OFFSETS[name]) <= tolerance(name), (name, r)
        assert r.confidence > 0.1, (name, r)


def test_large_offsets_and_reference_keeps_its_offset(tmp_path):
    offsets = {"video": 0.8123, "thermal": -0.4441, "acoustic": 1.2345, "electrical": 0.0}
    manifest = raw_without_offsets(tmp_path, offsets=offsets, seed=2, duration=4.0)
    data = yaml.safe_load(manifest.read_text())
    data["streams"]["electrical"]["time_offset_s"] = 0.1  # the reference's clock is 0.1 s behind
    manifest.write_text(yaml.safe_dump(data))
    results = estimate_offsets(load_manifest(manifest), "electrical", progress=False)
    assert results["electrical"].offset_s == 0.1
    for name in ("video", "thermal", "acoustic"):
        assert abs(results[name].offset_s - (offsets[name] + 0.1)) <= tolerance(name), name


def test_unrelated_stream_gets_low_confidence(tmp_path):
    manifest = raw_without_offsets(tmp_path, seed=3)
    good = estimate_offsets(load_manifest(manifest), progress=False)["acoustic"].confidence
    noise = np.random.default_rng(0).normal(0, 0.2, 48_000).astype(np.float32)  # no arc in it
    sf.write(manifest.parent / "acoustic.wav", noise, 16_000, subtype="FLOAT")
    bad = estimate_offsets(load_manifest(manifest), progress=False)["acoustic"].confidence
    assert bad < 0.1 < good


def test_cli_json_write_then_ingest_is_aligned(tmp_path, capsys):
    manifest = raw_without_offsets(tmp_path, seed=4)
    assert cli([str(manifest), "--reference", "electrical", "--json", "-", "--write", "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"video", "thermal", "acoustic", "electrical"}
    for name, entry in printed.items():
        assert set(entry) >= {"offset_s", "confidence"}
        assert abs(entry["offset_s"] - OFFSETS[name]) <= tolerance(name)
    written = yaml.safe_load(manifest.read_text())
    for name, entry in printed.items():
        assert written["streams"][name]["time_offset_s"] == pytest.approx(entry["offset_s"], abs=1e-9)
    assert [p.name for p in manifest.parent.iterdir() if p.name.startswith(".")] == []  # atomic write
    out = tmp_path / "synced.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec, Recording(tmp_path / "truth.h5") as truth:
        for name in ("video", "thermal", "acoustic"):
            assert abs(rec.streams[name].starting_time - truth.streams[name].starting_time) <= tolerance(name)


def test_table_output_and_bad_reference(tmp_path, capsys):
    manifest = raw_without_offsets(tmp_path, seed=5, duration=2.0)
    assert cli([str(manifest), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["stream", "offset_s", "confidence"] and len(out) == 5
    assert cli([str(manifest), "--reference", "lidar", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reference stream 'lidar'" in err[0] and "recording.yaml" in err[0]


def test_dropouts_are_left_out(tmp_path):
    import h5py

    write_arc_recording(tmp_path / "truth.h5", duration=3.0, seed=6)
    with h5py.File(tmp_path / "truth.h5", "a") as h5:  # the camera blacks out for 0.5 s, the DAQ holds
        video, elec = h5["streams/video/data"], h5["streams/electrical/data"]
        video[200:325] = 0
        elec[4000:5500] = elec[3999]
        h5["streams/video"].create_dataset("gaps", data=[[0.8, 1.3]])
        h5["streams/electrical"].create_dataset("gaps", data=[[0.8, 1.1]])
    manifest = export_raw(tmp_path / "truth.h5", tmp_path / "raw", include_offsets=False, progress=False)
    assert "gaps" in yaml.safe_load(manifest.read_text())["streams"]["video"]
    results = estimate_offsets(load_manifest(manifest), progress=False)
    for name in ("video", "thermal", "acoustic"):
        assert abs(results[name].offset_s - OFFSETS[name]) <= tolerance(name), (name, results[name])


@pytest.mark.parametrize("seed, offsets", [(0, {"acoustic": 0.0137, "video": -0.0421}),
                                           (1, {"acoustic": -0.2519, "video": 0.3083})])
def test_clean_steps_from_independent_files_within_one_millisecond(tmp_path, seed, offsets):
    """Recordings made without the simulator (tests/_clean_steps.py): a 5 kHz DAQ CSV, a 48 kHz WAV
    and a 500 fps mp4 with sharp arc-on/off steps and known clock offsets: ``sync`` recovers each
    within 1 ms (the camera's frame period is 2 ms), with a confidence that trusts it."""
    from _clean_steps import write_clean_steps

    rates = {"electrical": 5000.0, "acoustic": 48000.0, "video": 500.0}
    manifest = write_clean_steps(tmp_path, {**offsets, "electrical": 0.0}, rates, seed)
    results = estimate_offsets(load_manifest(manifest), progress=False)
    for name, true in offsets.items():
        assert abs(results[name].offset_s - true) <= 1e-3, (name, results[name])
        assert results[name].confidence >= 0.3, (name, results[name])


def test_write_keeps_a_symlinked_manifest_and_its_mode(tmp_path, capsys):
    from _clean_steps import write_clean_steps

    rates = {"electrical": 5000.0, "acoustic": 48000.0, "video": 500.0}
    real = write_clean_steps(tmp_path / "raw", {"acoustic": 0.0137, "video": -0.0421, "electrical": 0.0}, rates)
    real.chmod(0o644)
    link = tmp_path / "raw" / "link.yaml"
    link.symlink_to(real.name)
    assert cli([str(link), "--write", "--quiet"]) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert (real.stat().st_mode & 0o777) == 0o644
    written = yaml.safe_load(real.read_text())
    assert abs(written["streams"]["acoustic"]["time_offset_s"] - 0.0137) <= 1e-3


def test_fsw_machine_spindle_power_is_the_shared_event(tmp_path):
    """Friction stir welding has no arc: the machine's spindle power M * omega (``sensors/fsw_machine/sync.py``)
    is what the IR camera follows; on a simulated Al-Cu weld with random clock offsets the camera's offset is
    recovered within 2 ms and the microphone's within 30 ms (its friction noise follows the power loosely)."""
    import h5py
    from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
    from weldfusion.sensors.fsw_machine import sync as fsw_sync
    from weldfusion.sensors.raw_source import IngestError

    block = np.array([[10.0, 5.0, 1200.0, 3.0, 2.0], [-4.0, 5.0, 600.0, 3.0, 2.0]])
    names = ("torque", "axial_force", "spindle_speed", "traverse_speed", "plunge_depth")
    np.testing.assert_allclose(fsw_sync.activity(block, names, "m.csv"), [10 * 1200 * np.pi / 30, 4 * 600 * np.pi / 30])
    with pytest.raises(IngestError, match="m.csv: sync needs 'torque' and 'spindle_speed'"):
        fsw_sync.activity(block[:, :2], names[:2], "m.csv")
    run = simulate_run("Al-Cu", "FSW", 3, 0, SimConfig(missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.2),
                       duration_s=8.0)
    path = write_run(run, tmp_path / "fsw.h5")
    with h5py.File(path) as f:
        truth = {n: float(f["streams"][n].attrs.get("sim_clock_offset_s", 0.0)) for n in f["streams"]}
    manifest = export_raw(path, tmp_path / "raw", include_offsets=False, progress=False)
    results = estimate_offsets(load_manifest(manifest), "fsw_machine", progress=False)
    assert abs(results["thermal"].offset_s - (truth["thermal"] - truth["fsw_machine"])) <= 2e-3
    assert abs(results["acoustic"].offset_s - (truth["acoustic"] - truth["fsw_machine"])) <= 0.03
