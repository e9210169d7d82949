"""A lab's own LSL outlets (not weldfusion's: other names, channel labels in another order, values
in other units, no weldfusion description) received through a stream map, on this machine only
(issue 12): the same windows and predictions as offline inference, a dropout counted as one."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_lsl import _offline, tiny  # noqa: F401 - the LSL test's fixture; importing it sets machine-only LSL
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.build import build_engine
from weldfusion.tools.streaming.lsl_map import MappedOutlet, channel_columns, read_lsl_map
from weldfusion.tools.streaming.replay import Replay

pylsl = pytest.importorskip("pylsl")
pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")

DROP = (1.0, 1.3)  # s of microphone samples the "lab publisher" never sends


def _map_text(tag: str) -> str:
    return f"""
meta: {{material_pair: Al-steel, process: GMAW}}
streams:
  electrical:
    name: "DAQ-{tag}"
    channels: {{current: I, voltage: U, wire_feed: 3, travel_speed: "v"}}
  acoustic: {{name: "Arc mic {tag}", scale: 2.0, units: Pa}}
  video: {{name: "cam0 {tag}", frame_shape: [16, 16]}}
  thermal: {{name: "IR {tag}", frame_shape: [12, 16], scale: 0.5, offset: -100.0}}
"""


def _lab_publisher(rec: Path, tag: str, ready: threading.Event, go: threading.Event, stop: threading.Event,
                   lead_s: float = 0.5) -> None:
    """Publish ``rec`` the way a lab's own programs would: own outlet names and channel labels,
    the DAQ's channels scrambled with a spare one, the microphone at half scale, IR in counts."""
    with Replay(rec) as replay:
        heads = replay.headers

        def outlet(name: str, n_ch: int, rate: float, labels=()):
            info = pylsl.StreamInfo(name, "lab", n_ch, rate, "double64", f"{name}-uid")
            chans = info.desc().append_child("channels")
            for label in labels:
                chans.append_child("channel").append_child_value("label", label)
            return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)

        outlets = {"electrical": outlet(f"DAQ-{tag}", 5, heads["electrical"].rate, ("U", "I", "spare", "WFS", "v")),
                   "acoustic": outlet(f"Arc mic {tag}", 1, heads["acoustic"].rate),
                   "video": outlet(f"cam0 {tag}", 256, heads["video"].rate),
                   "thermal": outlet(f"IR {tag}", 192, heads["thermal"].rate)}

        def rows(name: str, data: np.ndarray) -> np.ndarray:
            flat = data.reshape(len(data), -1).astype(np.float64)
            if name == "electrical":  # current, voltage, wire feed, travel speed -> U, I, spare, WFS, v
                return np.stack([flat[:, 1], flat[:, 0], np.zeros(len(flat)), flat[:, 2], flat[:, 3]], axis=1)
            if name == "acoustic":
                return flat / 2.0
            if name == "thermal":
                return (flat + 100.0) * 2.0
            return flat

        ready.set()
        go.wait(30)
        t0 = pylsl.local_clock() + lead_s
        for packet in replay.packets():
            due = t0 + packet.arrival
            while not stop.is_set() and (wait := due - pylsl.local_clock()) > 0:
                time.sleep(min(wait, 0.05))
            if stop.is_set():
                break
            if packet.name == "acoustic" and DROP[0] <= packet.times[0] < DROP[1]:
                continue  # lost on the way: the stamps of what follows say how many
            outlets[packet.name].push_chunk(rows(packet.name, packet.data).tolist(), t0 + float(packet.times[-1]))
        time.sleep(0.2)


@contextlib.contextmanager
def _lab_outlets(rec: Path, tmp_path: Path, tag: str, lead_s: float = 0.5):
    """The lab publisher running (outlets up) and the stream map naming its outlets: yields
    ``(map_path, go)``; ``go.set()`` starts the samples ``lead_s`` later. Stopped on exit."""
    smap = tmp_path / "lab_lsl.yaml"
    smap.write_text(_map_text(tag))
    ready, go, stop = threading.Event(), threading.Event(), threading.Event()
    publisher = threading.Thread(target=_lab_publisher, args=(rec, tag, ready, go, stop, lead_s), daemon=True)
    publisher.start()
    try:
        assert ready.wait(20)
        yield smap, go
    finally:
        stop.set()
        publisher.join(timeout=30)


def test_lab_outlets_through_a_stream_map_stream_like_offline_inference(tiny, tmp_path):  # noqa: F811
    from weldfusion.tools.streaming.lsl_mapped import MappedLslSource

    rec, trained = tiny
    results = []
    info = trained.info
    with _lab_outlets(rec, tmp_path, f"t{os.getpid()}") as (smap, go), \
            MappedLslSource(smap, info.names, resolve_s=10, idle_s=1.5,
                            channel_names={n: tuple(info.modality(n).channel_names) for n in info.names}) as source:
        assert set(source.names) == set(trained.info.names) and source.meta["process"] == "GMAW"
        assert source.headers["electrical"].channel_names == ("current", "voltage", "wire_feed", "travel_speed")
        assert source.headers["video"].dtype == np.uint8 and source.headers["thermal"].sample_shape == (12, 16)
        engine = build_engine(trained, source, hop_s=0.1)
        go.set()
        engine.run(source.packets(), realtime=False, on_result=results.append, live_clock=source.now)
    ref = _offline(trained, rec, 0.1)
    got = {round(r.t0, 9): r for r in results}
    window = trained.info.window_s
    acoustic = trained.info.names.index("acoustic")
    # a signal window reads a few samples past its end (the resampler's margin): keep 50 ms clear
    clean = [t for t in ref if t + window + 0.05 <= DROP[0] or t >= DROP[1]]
    hit = [t for t in ref if t < DROP[1] and t + window > DROP[0]]
    assert set(clean) <= set(got) and len(clean) >= 5  # the same windows, on the session clock
    for t0 in clean:
        assert got[t0].present.all(), (t0, got[t0].present)
        np.testing.assert_allclose(got[t0].raw_defect_probs, ref[t0], atol=1e-5, err_msg=f"t0 {t0}")  # same alignment
    assert any(not got[t].present[acoustic] for t in hit if t in got)  # the dropout: microphone missing
    assert all(got[t].present[trained.info.names.index("video")] for t in hit if t in got)  # the others stay


def test_stream_map_errors_are_one_line(tiny, tmp_path, capsys):  # noqa: F811
    from weldfusion.tools import stream

    _, trained = tiny
    cases = {
        "streams: {video: {name: cam}}": "frame_shape",
        "streams: {electrical: {name: daq, channels: {current: 0}}}": "map each of current, voltage",
        "streams: {sonar: {name: x}}": "not a sensor",
        "streams: {acoustic: {name: mic, gain: 3}}": "gain",
        "streams: {acoustic: {name: mic, scale: 0}}": "scale must be finite and non-zero",
        "streams: {}": "map at least one sensor",
    }
    for text, needle in cases.items():
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        assert stream.cli([str(trained.path), "--lsl-map", str(bad)]) == 2, text
        err = capsys.readouterr().err.strip()
        assert needle in err and str(bad) in err and len(err.splitlines()) == 1, (text, err)
    assert stream.cli([str(trained.path), "--lsl-map", str(tmp_path / "none.yaml")]) == 2
    assert "no such LSL stream map file" in capsys.readouterr().err


def test_channels_by_label_or_index():
    out = MappedOutlet(name="daq", channels={"current": "I", "voltage": 0, "wire_feed": "WFS", "travel_speed": 4})
    names, cols = channel_columns(out, "electrical", ("U", "I", "x", "WFS", "v"), "m: streams.electrical")
    assert names == ("current", "voltage", "wire_feed", "travel_speed") and cols == [1, 0, 3, 4]
    with pytest.raises(InvalidInput, match="no channel 'I'.*U, x"):
        channel_columns(out, "electrical", ("U", "x", "WFS", "v", "w"), "m")
    with pytest.raises(InvalidInput, match="index 4, the outlet has 4"):
        channel_columns(out, "electrical", ("U", "I", "WFS", "v"), "m")
    cam = MappedOutlet(name="cam", frame_shape=[4, 5])
    assert channel_columns(cam, "video", tuple(f"c{i}" for i in range(20)), "m") == ((), list(range(20)))
    with pytest.raises(InvalidInput, match="frame_shape 4x5 needs 20"):
        channel_columns(cam, "video", ("a",) * 19, "m")


def test_read_lsl_map_roundtrip(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(_map_text("x"))
    smap = read_lsl_map(p)
    assert smap.streams["thermal"].scale == 0.5 and smap.streams["electrical"].channels["wire_feed"] == 3


def test_stream_verb_with_a_stream_map(tiny, tmp_path, capsys):  # noqa: F811
    """`stream --lsl-map` end to end: the lab's outlets, the map's meta, every hop written."""
    import json

    from weldfusion.tools import stream

    rec, trained = tiny
    out = tmp_path / "live.jsonl"
    with _lab_outlets(rec, tmp_path, f"v{os.getpid()}", lead_s=5.0) as (smap, go):
        go.set()  # the first sample 5 s from now: time for stream to load the model and resolve the outlets
        code = stream.cli([str(trained.path), "--lsl-map", str(smap), "--out", str(out), "--quiet", "--resolve-s", "10",
                           "--backend", "eager"])
        text = capsys.readouterr().out
    assert code == 0, text
    assert f"streaming lsl-map:{smap} (Al-steel, GMAW)" in text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    hops = [r for r in rows if "t0_s" in r]
    assert len(hops) >= 15 and hops[0]["t0_s"] == 0.0


def test_the_readme_cell_examples_are_valid_maps_and_shown_as_they_are():
    from weldfusion.tools.streaming.opcua_map import read_node_map

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    lsl, opc = root / "docs/examples/cell_lsl.yaml", root / "docs/examples/cell_opcua.yaml"
    assert set(read_lsl_map(lsl).streams) == {"video", "thermal", "acoustic"}
    assert read_node_map(opc).streams["electrical"].rate == 1000
    for path in (lsl, opc):
        assert path.read_text() in readme  # the README shows each file whole


def test_a_failure_in_a_receiver_thread_reaches_the_consumer(tiny, tmp_path, monkeypatch):  # noqa: F811
    from weldfusion.tools.streaming.lsl_mapped import MappedLslSource

    rec, _ = tiny

    def broken(self, name, rows, stamps):
        raise RuntimeError(f"bug while converting {name}")

    monkeypatch.setattr(MappedLslSource, "_packets_of", broken)
    with _lab_outlets(rec, tmp_path, f"f{os.getpid()}") as (smap, go), \
            MappedLslSource(smap, ["acoustic"], resolve_s=10, idle_s=1.0) as source:
        go.set()
        with pytest.raises(RuntimeError, match="bug while converting acoustic"):
            list(source.packets())
