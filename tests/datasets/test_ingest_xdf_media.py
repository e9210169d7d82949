"""Camera, IR camera and microphone streams of one XDF session (LabRecorder): frames folded with
``frame_shape``, every outlet on its own clock with recorded offsets, one event seen by all three
placed at the same recording time within one sample period of each stream."""

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

EVENT = 0.75  # s on the recorder's clock after the first sample of the session: the arc ignites
RATES = {"cam": 200.0, "ir": 50.0, "mic": 8000.0}
OFFSETS = {"cam": 0.3, "ir": -0.2, "mic": 0.05}  # outlet clock + offset = recorder clock


def _session(folder):
    t0 = 500.0  # recorder clock of the session's first sample (all streams start together)
    streams, truth = [], {}
    for name, rate in RATES.items():
        n = int(1.5 * rate)
        t_rec = t0 + np.arange(n) / rate
        on = (t_rec - t0 >= EVENT)
        if name == "cam":
            values = np.where(on[:, None], 220.0, 20.0) * np.ones((n, 6 * 8))
            labels = [f"px{i}" for i in range(48)]
        elif name == "ir":
            values = np.where(on[:, None], 900.0, 25.0) + np.arange(4 * 5)[None, :] * 0.5
            labels = [f"px{i}" for i in range(20)]
        else:
            values = (np.where(on, 0.5, 0.01) * np.cos(2 * np.pi * 440 * (t_rec - t0)))[:, None]
            labels = ["left"]
        truth[name] = values
        streams.append({"name": name, "type": "Video" if name != "mic" else "Audio", "rate": rate, "labels": labels,
                        "values": values, "stamps": t_rec - OFFSETS[name],
                        "offsets": [(t0 - 10, OFFSETS[name]), (t0 + 10, OFFSETS[name])]})
    write_xdf(folder / "session.xdf", streams)
    return write_manifest(folder, {"recording_id": "xdf_media", "streams": {
        "video": {"path": "session.xdf", "xdf_stream": "cam", "frame_shape": [6, 8]},
        "thermal": {"path": "session.xdf", "xdf_stream": "ir", "frame_shape": [4, 5]},
        "acoustic": {"path": "session.xdf", "xdf_stream": "mic", "scale": 20.0, "units": "Pa"}}}), truth


def test_xdf_media_streams_align_on_one_event(tmp_path):
    manifest, truth = _session(tmp_path)
    out = tmp_path / "x.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec:
        video, ir, mic = rec.streams["video"], rec.streams["thermal"], rec.streams["acoustic"]
        assert video.shape == (300, 6, 8) and video.units == "gray8" and video.rate == RATES["cam"]
        assert ir.shape == (75, 4, 5) and ir.units == "degC" and ir.rate == RATES["ir"]
        assert mic.shape == (12000,) and mic.units == "Pa" and mic.rate == RATES["mic"]
        np.testing.assert_array_equal(rec.read_index("video", 0, video.n), truth["cam"].reshape(-1, 6, 8))
        np.testing.assert_allclose(rec.read_index("thermal", 0, ir.n), truth["ir"].reshape(-1, 4, 5), rtol=1e-6)
        np.testing.assert_allclose(rec.read_index("acoustic", 0, mic.n), 20.0 * truth["mic"][:, 0], atol=1e-5)
        onsets = {}
        for name, level in (("video", 100), ("thermal", 400)):
            x = rec.read_index(name, 0, rec.streams[name].n).reshape(rec.streams[name].n, -1).mean(axis=1)
            i = int(np.argmax(x > level))
            onsets[name] = rec.times(name, i, i + 1)[0]
        loud = np.abs(rec.read_index("acoustic", 0, mic.n)) > 1.0
        i = int(np.argmax(loud))
        onsets["acoustic"] = rec.times("acoustic", i, i + 1)[0]
    for name, t in onsets.items():
        rate = RATES[{"video": "cam", "thermal": "ir", "acoustic": "mic"}[name]]
        # each outlet's own offset applied: the first sample at or after the event, on one clock
        assert t == pytest.approx(np.ceil(EVENT * rate - 1e-9) / rate, abs=1e-6) and 0 <= t - EVENT < 1 / rate, (name, t)


@pytest.mark.parametrize("case", ["no_shape", "wrong_shape", "shape_on_mp4", "fractional_pixels", "no_channel"])
def test_xdf_media_bad_input_is_one_line(case, tmp_path, capsys):
    manifest, _ = _session(tmp_path)
    data = yaml.safe_load(manifest.read_text())
    streams = data["streams"]
    if case == "no_shape":
        del streams["video"]["frame_shape"]
    elif case == "wrong_shape":
        streams["thermal"]["frame_shape"] = [5, 5]
    elif case == "shape_on_mp4":
        streams["video"] = {"path": "clip.mp4", "frame_shape": [6, 8]}
    elif case == "fractional_pixels":
        streams["video"]["xdf_stream"] = "ir"
        streams["video"]["frame_shape"] = [4, 5]
    else:
        streams["acoustic"] = {"path": "session.xdf", "xdf_stream": "mic", "channels": {"mic": "right"}}
    manifest.write_text(yaml.safe_dump(data))
    code = ingest_tool.cli([str(manifest), "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert {"no_shape": "frame_shape", "wrong_shape": "frame_shape", "shape_on_mp4": "frame_shape",
            "fractional_pixels": "whole grey levels", "no_channel": "right"}[case] in err[0], err
    assert not (tmp_path / "x.h5").exists()
