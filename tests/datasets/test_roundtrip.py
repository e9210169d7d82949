"""Round trip: HDF5 recording -> raw files (mp4, 16-bit TIFF, WAV, CSV) on each sensor's own clock ->
ingest -> the same recording within codec loss, with events aligned to one sample period."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from ingest_helpers import OFFSETS, write_arc_recording
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.raw_export import export_raw
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.validate import validate


def arc_on_times(rec: Recording, name: str) -> np.ndarray:
    """Times of the samples at which the stream's arc activity first exceeds half its range."""
    info = rec.streams[name]
    x = rec.read_index(name, 0, info.n).astype(np.float64)
    if name == "electrical":
        act = x[:, 0]  # current
    elif name == "acoustic":
        act = np.convolve(x * x, np.ones(32) / 32, mode="same")
    else:
        act = x.reshape(len(x), -1).mean(axis=1)
    on = act > (act.min() + act.max()) / 2 if name != "acoustic" else act > 0.02 * act.max()
    rising = np.flatnonzero(np.diff(on.astype(int)) == 1) + 1
    return rec.times(name, 0, info.n)[rising]


@pytest.mark.parametrize("wav_subtype", ["FLOAT", "PCM_24"])
def test_roundtrip_equal_within_codec_loss(tmp_path, wav_subtype):
    truth_path = tmp_path / "truth.h5"
    write_arc_recording(truth_path, duration=2.0, seed=7)
    manifest = export_raw(truth_path, tmp_path / "raw", wav_subtype=wav_subtype, progress=False)
    spec = yaml.safe_load(manifest.read_text())["streams"]
    assert spec["video"]["path"] == "video.mp4" and spec["thermal"]["path"] == "thermal/*.tiff"
    assert spec["acoustic"]["path"] == "acoustic.wav" and spec["electrical"]["path"] == "electrical.csv"
    for name in ("video", "thermal", "acoustic"):  # own sensor clocks, restored by time_offset_s
        assert spec[name]["time_offset_s"] == OFFSETS[name]
    out = tmp_path / "ingested.h5"
    ingest(manifest, out, progress=False)
    assert validate(out) == []
    with Recording(truth_path) as truth, Recording(out) as rec:
        assert set(rec.streams) == set(truth.streams)
        for name, ref in truth.streams.items():
            got = rec.streams[name]
            assert got.shape == ref.shape and got.dtype == ref.dtype and got.rate == ref.rate and got.regular
            assert got.starting_time == pytest.approx(ref.starting_time, abs=1e-9)
            assert got.channel_names == ref.channel_names and got.units == ref.units
        a = {name: truth.read_index(name, 0, info.n) for name, info in truth.streams.items()}
        b = {name: rec.read_index(name, 0, info.n) for name, info in rec.streams.items()}
        np.testing.assert_array_equal(b["electrical"], a["electrical"])  # CSV with 9 significant digits
        if wav_subtype == "FLOAT":
            np.testing.assert_array_equal(b["acoustic"], a["acoustic"])
        else:
            full = float(np.abs(a["acoustic"]).max())
            np.testing.assert_allclose(b["acoustic"], a["acoustic"], atol=full * 2.0**-22)
        scale = spec["thermal"]["scale"]
        assert np.abs(b["thermal"] - a["thermal"]).max() <= scale / 2 + 1e-3  # 16-bit quantisation
        diff = np.abs(b["video"].astype(np.int16) - a["video"].astype(np.int16))
        assert diff.mean() < 5.0  # mp4v at its default quality
        frame_means = np.abs(b["video"].mean(axis=(1, 2)) - a["video"].mean(axis=(1, 2)))
        assert frame_means.max() < 6.0
        assert rec.phases == truth.phases and rec.defects == truth.defects
        for name, info in truth.streams.items():
            t_truth, t_got = arc_on_times(truth, name), arc_on_times(rec, name)
            assert len(t_truth) >= 2 and len(t_got) == len(t_truth), name
            assert np.abs(t_got - t_truth).max() <= 1.0 / info.rate + 1e-9, name


def test_export_refuses_existing_folder_and_leaves_no_temporary(tmp_path):
    truth_path = tmp_path / "truth.h5"
    write_arc_recording(truth_path, duration=0.7, seed=8, streams=("electrical", "acoustic"))
    (tmp_path / "raw").mkdir()
    with pytest.raises(FileExistsError, match="exists"):
        export_raw(truth_path, tmp_path / "raw", progress=False)
    manifest = export_raw(truth_path, tmp_path / "raw", force=True, progress=False)
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["acoustic.wav", "defects.csv", "electrical.csv",
                                                                 "phases.csv", "recording.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "truth.h5"]


# -- the simulator's runs ---------------------------------------------------------------------------
def first_arc_on(rec: Recording, name: str) -> float:
    """Time of the first sample whose arc activity exceeds 10 % of its range (current for the DAQ)."""
    info = rec.streams[name]
    x = rec.read_index(name, 0, info.n).astype(np.float64)
    if name == "electrical":
        act = x[:, list(info.channel_names).index("current")]
    elif name == "acoustic":
        act = np.abs(x.reshape(len(x), -1)[:, 0])
    else:
        act = x.reshape(len(x), -1).mean(axis=1)
    act = act - np.median(act[: max(1, len(act) // 20)])  # the idle start of the run
    return float(rec.times(name, 0, info.n)[np.argmax(act > 0.1 * act.max())])


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory):
    synth = pytest.importorskip("weldfusion.tools.synth", reason="the simulator (tools/synth.py) is not there")
    out = tmp_path_factory.mktemp("synth")
    assert synth.cli(["--out", str(out / "sim"), "--pairs", "Al-steel", "--runs", "1", "--duration-s", "3",
                      "--seed", "0", "--workers", "1", "--missing-prob", "0"]) == 0
    (path,) = sorted((out / "sim").glob("*.h5"))
    return path


def test_simulator_roundtrip_mp4_tiff_wav_csv(simulated_run, tmp_path):
    manifest = export_raw(simulated_run, tmp_path / "raw", progress=False)
    spec = yaml.safe_load(manifest.read_text())["streams"]
    out = tmp_path / "ingested.h5"
    ingest(manifest, out, progress=False)
    assert validate(out) == []
    with Recording(simulated_run) as sim, Recording(out) as rec:
        assert set(rec.streams) == set(sim.streams) == {"video", "thermal", "acoustic", "electrical"}
        for name, ref in sim.streams.items():
            got = rec.streams[name]
            assert got.shape == ref.shape and got.dtype == ref.dtype and got.rate == ref.rate
            assert got.starting_time == pytest.approx(ref.starting_time, abs=1e-9)
            assert got.channel_names == ref.channel_names and got.units == ref.units
            np.testing.assert_allclose(got.gaps, ref.gaps, atol=1e-9)
            if name != "electrical":  # the reference clock
                assert spec[name]["time_offset_s"] == ref.attrs["sim_clock_offset_s"]
            a, b = sim.read_index(name, 0, ref.n), rec.read_index(name, 0, got.n)
            if name in ("electrical", "acoustic"):
                np.testing.assert_array_equal(b, a)
            elif name == "thermal":
                assert np.abs(b - a).max() <= spec["thermal"]["scale"] / 2 + 1e-3
            else:
                assert np.abs(b.astype(np.int16) - a.astype(np.int16)).mean() < 5.0
            assert abs(first_arc_on(rec, name) - first_arc_on(sim, name)) <= 1.0 / ref.rate + 1e-9, name
        assert rec.phases == sim.phases and rec.defects == sim.defects


def test_sync_recovers_the_simulator_clock_offsets(simulated_run, tmp_path, capsys):
    from weldfusion.tools.sync import cli as sync_cli

    manifest = export_raw(simulated_run, tmp_path / "raw", include_offsets=False, progress=False)
    assert sync_cli([str(manifest), "--reference", "electrical", "--json", "-", "--quiet"]) == 0
    found = json.loads(capsys.readouterr().out)
    with Recording(simulated_run) as sim:
        for name, info in sim.streams.items():
            ref = sim.streams["electrical"]
            tolerance = max(1.0 / min(info.rate, ref.rate), 2e-3)
            truth = info.attrs["sim_clock_offset_s"] - ref.attrs["sim_clock_offset_s"]
            assert abs(found[name]["offset_s"] - truth) <= tolerance, (name, found[name], truth)


def test_laser_monitor_and_acoustic_emission_roundtrip(tmp_path):
    """A laser run with an AE sensor: laser_monitor.csv and emission.wav come back sample for sample."""
    from weldfusion.tools import synth

    assert synth.cli(["--out", str(tmp_path / "sim"), "--pairs", "Ti-Ni", "--runs", "1", "--duration-s", "3",
                      "--workers", "1", "--missing-prob", "0", "--ae-rate", "100000"]) == 0
    (path,) = sorted((tmp_path / "sim").glob("*.h5"))
    manifest = export_raw(path, tmp_path / "raw", progress=False)
    assert {"laser_monitor.csv", "emission.wav"} <= {p.name for p in (tmp_path / "raw").iterdir()}
    out = tmp_path / "ingested.h5"
    ingest(manifest, out, progress=False)
    assert validate(out) == []
    with Recording(path) as sim, Recording(out) as rec:
        for name in ("laser_monitor", "emission"):
            ref, got = sim.streams[name], rec.streams[name]
            assert got.shape == ref.shape and got.rate == ref.rate and got.channel_names == ref.channel_names
            np.testing.assert_array_equal(rec.read_index(name, 0, got.n), sim.read_index(name, 0, ref.n))
