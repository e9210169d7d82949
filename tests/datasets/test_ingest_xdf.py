"""XDF files recorded with LabRecorder (Lab Streaming Layer) as the electrical stream, via pyxdf:
channels by label, recorded clock offsets applied, one clock for the file's streams."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from _xdf import write_xdf
from ingest_helpers import write_manifest
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.tools import ingest as ingest_tool

pytest.importorskip("pyxdf")
RATE = 500.0


def _session(folder, offset=0.5):
    """A DAQ stream at 500 Hz whose outlet clock runs ``offset`` s behind the recorder's, and a
    marker stream starting 0.2 s earlier on the recorder's clock (it sets the file's time 0)."""
    n = 1200
    t_own = 1000.0 + np.arange(n) / RATE  # the DAQ's LSL clock
    on = ((np.arange(n) > 300) & (np.arange(n) < 900)).astype(float)
    values = np.stack([10 + 140 * on, 60 - 42 * on, np.full(n, 6.0), 8.0 * on], axis=1)
    markers = {"name": "events", "type": "Markers", "rate": 0, "labels": ["code"], "values": [[1.0], [2.0]],
               "stamps": [1000.0 + offset - 0.2, 1001.0 + offset], "offsets": [(1000.0, 0.0), (1003.0, 0.0)]}
    daq = {"name": "power_source", "type": "DAQ", "rate": RATE, "labels": ["I", "U", "WFS", "v"], "values": values,
           "stamps": t_own, "offsets": [(1000.0, offset), (1003.0, offset)]}
    write_xdf(folder / "session.xdf", [markers, daq])
    return write_manifest(folder, {"recording_id": "xdf_run", "streams": {"electrical": {
        "path": "session.xdf", "xdf_stream": "power_source",
        "channels": {"current": "I", "voltage": "U", "wire_feed": "WFS", "travel_speed": 3}}}}), values


def test_xdf_stream_with_recorded_clock_offsets(tmp_path):
    manifest, values = _session(tmp_path)
    out = tmp_path / "x.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["electrical"]
        assert info.regular and info.rate == RATE
        # the DAQ's first sample: own clock 1000.0 + offset 0.5 = 1000.5 on the recorder's clock;
        # the file's time 0 is the marker at 1000.3 -> the DAQ starts at 0.2 s
        assert info.starting_time == pytest.approx(0.2, abs=1e-6)
        np.testing.assert_allclose(rec.read_index("electrical", 0, info.n), values, rtol=1e-6)


@pytest.mark.parametrize("case", ["no_stream", "no_channel", "garbage", "truncated", "key_on_csv"])
def test_xdf_bad_input_is_one_line(case, tmp_path, capsys):
    manifest, _ = _session(tmp_path)
    data = yaml.safe_load(manifest.read_text())
    el = data["streams"]["electrical"]
    if case == "no_stream":
        el["xdf_stream"] = "nowhere"
    elif case == "no_channel":
        el["channels"]["current"] = "I_missing"
    elif case == "garbage":
        (tmp_path / "session.xdf").write_bytes(b"XDF:" + b"\x08garbage" * 8)
    elif case == "truncated":  # LabRecorder killed mid-write
        whole = (tmp_path / "session.xdf").read_bytes()
        (tmp_path / "session.xdf").write_bytes(whole[: len(whole) // 2])
    else:
        (tmp_path / "daq.csv").write_text("time_s,I\n0,1\n")
        el["path"] = "daq.csv"
    manifest.write_text(yaml.safe_dump(data))
    code = ingest_tool.cli([str(manifest), "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert {"no_stream": "nowhere", "no_channel": "I_missing", "garbage": "session.xdf", "truncated": "session.xdf",
            "key_on_csv": "xdf_stream"}[case] in err[0]
    assert not (tmp_path / "x.h5").exists()
