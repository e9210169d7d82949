"""ASAM MDF4 measurement files (test benches, robot cells) as the electrical stream, via asammdf."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.tools import ingest as ingest_tool

asammdf = pytest.importorskip("asammdf")

RATE = 5000.0


def _write_mdf(path, start=0.25, n=10_000, jitter=False):
    """Current and voltage at 5 kHz, travel speed on a 100 Hz raster (another channel group)."""
    from asammdf import MDF, Signal

    t = start + np.arange(n) / RATE
    if jitter:
        t = t + np.random.default_rng(0).uniform(-0.3, 0.3, n) / RATE
    on = ((t > 0.6) & (t < 1.8)).astype(np.float64)
    current = 10 + 140 * on + np.sin(2 * np.pi * 75 * t)
    voltage = 60 - 42 * on
    t_slow = start + np.arange(int(n / RATE * 100)) / 100.0
    travel = 8.0 * ((t_slow > 0.6) & (t_slow < 1.8))
    mdf = MDF(version="4.10")
    mdf.append([Signal(current, t, name="I_weld", unit="A"), Signal(voltage, t, name="U_arc", unit="V")])
    mdf.append([Signal(travel, t_slow, name="v_travel", unit="mm/s")])
    mdf.save(path, overwrite=True)
    mdf.close()
    return t, current, voltage, t_slow, travel


def _manifest(folder, **extra):
    data = {
        "recording_id": "mdf_run", "material_pair": "Al-steel", "material_a": "AA6061", "material_b": "DC04",
        "process": "GMAW",
        "streams": {"electrical": {"path": "bench.mf4", "channels": {
            "current": "I_weld", "voltage": "U_arc", "wire_feed": {"value": 6.0}, "travel_speed": "v_travel"},
            **extra}},
    }
    path = folder / "recording.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_mdf4_channels_by_name_on_their_own_time_stamps(tmp_path):
    t, current, voltage, t_slow, travel = _write_mdf(tmp_path / "bench.mf4")
    out = tmp_path / "x.h5"
    ingest(_manifest(tmp_path), out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["electrical"]
        assert info.regular and info.rate == RATE and info.starting_time == pytest.approx(0.25)
        x = rec.read_index("electrical", 0, info.n)
    assert x.shape == (len(t), 4)
    np.testing.assert_allclose(x[:, 0], current, rtol=1e-6)
    np.testing.assert_allclose(x[:, 1], voltage, rtol=1e-6)
    assert np.all(x[:, 2] == 6.0)
    np.testing.assert_allclose(x[:, 3], np.interp(t, t_slow, travel), atol=1e-5)  # the 100 Hz raster


def test_mdf4_irregular_time_stamps_are_kept_per_sample(tmp_path):
    t, *_ = _write_mdf(tmp_path / "bench.mf4", jitter=True)
    out = tmp_path / "x.h5"
    ingest(_manifest(tmp_path), out, progress=False)
    with Recording(out) as rec:
        assert not rec.streams["electrical"].regular
        np.testing.assert_allclose(rec.timestamps("electrical"), t, atol=1e-9)


@pytest.mark.parametrize("case", ["missing_channel", "not_mdf", "truncated", "time_column"])
def test_mdf4_bad_input_is_one_line(case, tmp_path, capsys):
    _write_mdf(tmp_path / "bench.mf4")
    extra = {}
    manifest = _manifest(tmp_path)
    if case == "missing_channel":
        data = yaml.safe_load(manifest.read_text())
        data["streams"]["electrical"]["channels"]["current"] = "I_nowhere"
        manifest.write_text(yaml.safe_dump(data))
    elif case == "not_mdf":
        (tmp_path / "bench.mf4").write_bytes(b"MDF     garbage" * 10)
    elif case == "truncated":  # a copy cut short (a full disk, an aborted transfer)
        whole = (tmp_path / "bench.mf4").read_bytes()
        (tmp_path / "bench.mf4").write_bytes(whole[: len(whole) // 2])
    else:
        extra = {"time_column": "t"}
        manifest = _manifest(tmp_path, **extra)
    code = ingest_tool.cli([str(manifest), "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert ("I_nowhere" in err[0]) if case == "missing_channel" else ("bench.mf4" in err[0] or "recording.yaml" in err[0])
    assert not (tmp_path / "x.h5").exists()
