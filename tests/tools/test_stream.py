"""Streaming inference: ring buffers, replay, presence, alarms, and parity with offline windows."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from _window_recordings import write_events, write_tiny
from torch.utils.data import default_collate
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.windows import WindowDataset
from weldfusion.fusion.refine import refine
from weldfusion.recipes.errors import DataWarning
from weldfusion.tools.streaming.alarms import DefectAlarms
from weldfusion.tools.streaming.build import build_engine
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.presence import PresenceMonitor
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.streaming.ring_buffer import RingBuffer
from weldfusion.tools.training.loading import load_trained

pytestmark = pytest.mark.usefixtures("single_thread")

HOP = 0.1


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two 2.4 s recordings with all four streams and an untrained tiny checkpoint on them."""
    d = tmp_path_factory.mktemp("stream_data")
    write_recording(d / "a.h5", "a", "Al-steel", "GMAW", seed=0)
    write_recording(d / "b.h5", "b", "Ti-Ni", "laser", seed=1)
    ck = write_checkpoint(tmp_path_factory.mktemp("stream_ck") / "tiny.pt", tiny_recipe(d))
    return d, ck


@pytest.fixture(scope="module")
def trained(tiny):
    return load_trained(tiny[1])


def run_stream(trained, path, hop_s=HOP, **kw):
    results = []
    realtime = kw.pop("realtime", False)
    backend = kw.pop("backend", None)
    with Replay(path, names=trained.info.names, stalls=kw.pop("stalls", None)) as replay:
        engine = build_engine(trained, replay, hop_s=hop_s, backend=backend, **kw)
        summary = engine.run(replay.packets(), realtime=realtime, on_result=results.append)
    return results, summary


def offline(trained, path, hop_s=HOP) -> dict[float, dict]:
    """Model outputs and inputs of every WindowDataset window of ``path`` (hop ``hop_s``), keyed by t0."""
    cfg = dataclasses.replace(trained.recipe.data, hop_s=hop_s)
    ds = WindowDataset(path, cfg, norm=trained.norm)
    out = {}
    for i in range(len(ds)):
        batch = default_collate([ds[i]])
        with torch.inference_mode():
            o = trained.model(batch)
        out[round(float(batch["t0"][0]), 9)] = {"phase": o["phase_probs"][0].numpy(),
                                                "defects": o["defect_probs"][0].numpy(),
                                                "weights": o["modality_weights"][0].numpy(),
                                                "present": batch["present"][0].numpy()}
    return out


# -- ring buffer and replay --------------------------------------------------------------------------
def test_ring_buffer_reads_like_the_recording_and_wraps(tiny):
    path = tiny[0] / "a.h5"
    rec = Recording(path)
    info = rec.streams["acoustic"]
    data = rec.read_index("acoustic", 0, info.n)
    buf = RingBuffer("acoustic", (), data.dtype, info.rate, info.starting_time, capacity=1000)
    for s in range(0, 3000, 40):  # three wraps of the 1000-sample ring
        buf.push(s, data[s : s + 40])
    assert buf.n == 3000 and buf.oldest == 2000
    for t0, t1 in ((0.55, 0.7), (0.6123, 0.6377), (0.5, 0.75)):
        i0, i1 = rec.index_range("acoustic", t0, t1)
        assert buf.index_range(t0, t1) == (i0, i1)
        np.testing.assert_array_equal(buf.read_slice(i0, i1), data[i0:i1])
        np.testing.assert_array_equal(buf.times(i0, i1), rec.times("acoustic", i0, i1))
    with pytest.raises(ValueError, match="buffer too short"):
        buf.read_slice(1990, 2010)
    with pytest.raises(ValueError, match="already have"):
        buf.push(2990, data[2990:3000])
    # a jump of the sample counter is a hole: zeros in the buffer, a gap in the stream info
    buf.push(3200, data[3200:3240])
    assert buf.info.gaps.tolist() == [[3000 / info.rate, 3200 / info.rate]]
    assert not buf.read_slice(3000, 3200).any()
    assert buf.gap_coverage(0.7, 0.8) == pytest.approx(0.5)


def test_replay_packets_in_arrival_order_at_native_sizes(tiny):
    path = tiny[0] / "a.h5"
    with Replay(path, packet_s=0.01) as replay:
        packets = list(replay.packets())
        streams = replay.rec.streams
    arrivals = [p.arrival for p in packets]
    assert arrivals == sorted(arrivals)
    for name, info in streams.items():
        mine = [p for p in packets if p.name == name]
        assert sum(len(p.data) for p in mine) == info.n  # every sample once
        assert [p.start for p in mine] == sorted(p.start for p in mine)
        sizes = {len(p.data) for p in mine[:-1]}
        assert sizes == ({1} if name in ("video", "thermal") else {round(0.01 * info.rate)})
        for p in mine:  # delivered one period after the packet's last sample
            assert p.arrival == pytest.approx(p.times[-1] + 1 / info.rate)
    with Replay(path, stalls={"video": [(0.8, 1.6)]}) as replay:
        video = [p for p in replay.packets() if p.name == "video"]
    t = np.concatenate([p.times for p in video])
    assert not ((t >= 0.8) & (t < 1.6)).any() and (t < 0.8).any() and (t >= 1.6).any()
    with pytest.raises(ValueError, match="no such stream"):
        Replay(path, stalls={"sonar": [(0, 1)]})


# -- parity with the offline windows --------------------------------------------------------------------
def test_stream_matches_offline_windowed_inference(tiny, trained):
    path = tiny[0] / "b.h5"
    results, summary = run_stream(trained, path)
    ref = offline(trained, path)
    assert [r.t0 for r in results] == sorted(ref)  # the same windows, every hop
    assert summary.hops == len(ref) and summary.skipped == 0
    for r in results:
        o = ref[r.t0]
        np.testing.assert_allclose(r.raw_phase_probs, o["phase"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(r.raw_defect_probs, o["defects"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(r.modality_weights, o["weights"], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(r.present, o["present"])
        assert r.t == pytest.approx(r.t0 + trained.info.window_s)
    # Eq. 49 over the last three windows, oldest first
    raw = torch.tensor(np.stack([r.raw_phase_probs for r in results]))
    for k in (0, 1, 5, len(results) - 1):
        want = refine(raw[max(0, k - 2) : k + 1], 0.6).numpy()
        np.testing.assert_allclose(results[k].phase_probs, want, atol=1e-6)
        assert results[k].phase == trained.info.phases[int(np.argmax(want))]


def test_stream_matches_offline_with_offsets_and_irregular_timestamps(tmp_path):
    """Streams starting at different times, thermal with per-frame timestamps, other frame sizes."""
    d = tmp_path / "events"
    d.mkdir()
    path = write_events(d / "events.h5")
    trained = load_trained(write_checkpoint(tmp_path / "ev.pt", tiny_recipe(d)))
    results, _ = run_stream(trained, path, hop_s=0.2)
    ref = offline(trained, path, hop_s=0.2)
    assert [r.t0 for r in results] == sorted(ref) and len(results) > 5
    for r in results:
        np.testing.assert_allclose(r.raw_phase_probs, ref[r.t0]["phase"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(r.raw_defect_probs, ref[r.t0]["defects"], rtol=0, atol=1e-6)


def test_stream_matches_offline_without_a_sensor(tiny, trained, tmp_path):
    """A recording without thermal stream (other rates and frame sizes): thermal absent in every window."""
    path = write_tiny(tmp_path / "no_thermal.h5", "nt", streams=("video", "acoustic", "electrical"), duration=1.6)
    results, summary = run_stream(trained, path)
    ref = offline(trained, path)
    assert [r.t0 for r in results] == sorted(ref) and summary.hops == len(ref)
    th = trained.info.names.index("thermal")
    for r in results:
        assert not r.present[th] and r.sensors["thermal"] == "absent"
        np.testing.assert_allclose(r.raw_phase_probs, ref[r.t0]["phase"], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(r.present, ref[r.t0]["present"])


# -- sensors that stop and come back ------------------------------------------------------------------
def test_stalled_sensor_is_dropped_after_timeout_and_used_again(tiny, trained):
    path = tiny[0] / "a.h5"
    stall = (0.8, 1.6)
    results, summary = run_stream(trained, path, stalls={"video": [stall]}, timeout_s=0.25)
    ref = offline(trained, path)
    assert [r.t0 for r in results] == sorted(ref)  # inference carried on at every hop
    events = [(e.name, e.kind) for e in summary.sensor_events]
    assert events == [("video", "lost"), ("video", "back")]
    lost, back = summary.sensor_events
    last_frame = max(t for t in np.arange(36) / 15.0 if t < stall[0])
    assert lost.time_s == pytest.approx(last_frame + 1 / 15 + 0.25)  # last packet + timeout
    assert stall[1] <= back.time_s <= stall[1] + 0.1
    v = trained.info.names.index("video")
    window = trained.info.window_s
    for r in results:
        covered = max(0.0, min(r.t, stall[1]) - max(r.t0, stall[0])) / window
        if covered > 0.2 + 1e-6:  # more of the window in the stall than the gap threshold
            assert not r.present[v] and r.modality_weights[v] == 0
        if r.t0 >= stall[1] + 0.1 or r.t <= stall[0]:  # clear of the stall: used, as offline
            assert r.present[v]
            np.testing.assert_allclose(r.raw_phase_probs, ref[r.t0]["phase"], atol=1e-6)
        if lost.time_s <= r.t <= back.time_s - 0.1:
            assert r.sensors["video"] == "missing"
    assert any(not r.present[v] for r in results) and results[-1].present[v]


def test_presence_monitor_timeouts():
    mon = PresenceMonitor(("video", "acoustic"), {"video": 0.2, "acoustic": 0.3}, start_s=0.0)
    mon.seen("video", 0.1)
    assert mon.update(0.25) == [] and mon.alive("video", 0.25)
    lost = mon.update(0.35)
    assert [(e.name, e.time_s) for e in lost] == [("video", pytest.approx(0.3)), ("acoustic", pytest.approx(0.3))]
    assert mon.status("video") == "missing"
    back = mon.seen("video", 0.5)
    assert back.kind == "back" and mon.status("video") == "ok"
    mon.end()
    assert mon.status("acoustic") == "ended" and not mon.alive("video", 0.5)
    with pytest.raises(ValueError, match="timeout"):
        PresenceMonitor(("video",), 0.0)


# -- alarms ---------------------------------------------------------------------------------------------
def test_alarm_hysteresis_and_debounce():
    alarms = DefectAlarms(("porosity", "crack"), p_on=0.6, p_off=0.4, n_on=2, m_off=3)
    seq = [0.1, 0.7, 0.3, 0.65, 0.7, 0.5, 0.45, 0.3, 0.5, 0.35, 0.2, 0.1, 0.55, 0.9]
    events = []
    for k, p in enumerate(seq):
        events += alarms.update(k * 0.1, np.array([p, 0.0]))
    # 0.7 alone at 0.1 s does not open (debounce); 0.65, 0.7 at 0.3, 0.4 s open it, starting 0.3 s;
    # 0.5, 0.45 are between the thresholds (hysteresis); the dip at 0.7 s is undone at 0.8 s;
    # 0.35, 0.2, 0.1 from 0.9 s close it at 1.1 s; 0.55 then 0.9 do not reopen (0.55 < p_on).
    assert [(e.kind, e.defect) for e in events] == [("open", "porosity"), ("close", "porosity")]
    opened, closed = events
    assert opened.start_s == pytest.approx(0.3) and opened.at_s == pytest.approx(0.4)
    assert closed.end_s == pytest.approx(0.9) and closed.at_s == pytest.approx(1.1)
    assert closed.peak == pytest.approx(0.7)
    assert alarms.open_alarms == ()
    alarms.update(1.4, np.array([0.95, 0.0]))
    assert alarms.open_alarms == ("porosity",)
    assert alarms.intervals()[-1] == {"defect": "porosity", "start_s": pytest.approx(1.3), "end_s": None,
                                      "peak": pytest.approx(0.95), "support": [], "held_from_s": None}
    with pytest.raises(ValueError, match="must not exceed"):
        DefectAlarms(("a",), p_on=0.4, p_off=0.5)
    with pytest.raises(ValueError, match="2 defect classes"):
        DefectAlarms(("a", "b"), p_on=[0.5, 0.5, 0.5], p_off=0.2)


def test_alarm_is_held_while_its_supporting_sensors_are_gone():
    """An alarm carried by video is held (not silently kept) while video is missing; it ends where
    its evidence ended; back with its sensor it resumes."""
    names = ("video", "thermal", "acoustic")
    alarms = DefectAlarms(("undercut",), p_on=0.6, p_off=0.4, n_on=2, m_off=2)
    w_video = np.array([0.7, 0.2, 0.1])
    w_rest = np.array([0.0, 0.6, 0.4])
    all_on, no_video = np.array([True, True, True]), np.array([False, True, True])
    hops = [(0.8, w_video, all_on)] * 3 + [(0.8, w_rest, no_video)] * 4 + [(0.8, w_video, all_on)] * 2
    hops += [(0.1, w_rest, no_video)] * 3
    kinds = []
    for k, (p, w, present) in enumerate(hops):
        kinds += [(e.kind, round(e.at_s, 1), e.support) for e in alarms.update(k * 0.1, np.array([p]), w, present, names)]
        if k == 4:
            assert alarms.open_alarms == ("undercut(held)",)
    assert kinds == [("open", 0.1, ("video",)), ("held", 0.3, ("video",)), ("resumed", 0.7, ("video",)),
                     ("held", 0.9, ("video",)), ("close", 1.0, ("video",))]
    (interval,) = alarms.intervals()
    assert interval["start_s"] == pytest.approx(0.0) and interval["support"] == ["video"]
    assert interval["held_from_s"] == pytest.approx(0.9) and interval["end_s"] == pytest.approx(0.9)
    # without weights (no fusion layer): the alarm behaves as before, never held
    plain = DefectAlarms(("undercut",), p_on=0.6, p_off=0.4, n_on=2, m_off=2)
    for k, (p, _, _) in enumerate(hops):
        plain.update(k * 0.1, np.array([p]))
    assert [e.kind for e in plain.events] == ["open", "close"] and plain.intervals()[0]["held_from_s"] is None


def test_alarm_that_ended_while_unobserved_ends_where_its_evidence_did():
    """Video stalls during an alarm it carried; when video is back the defect is gone: the alarm
    closes at once, and its interval ends where video was lost, not at the close."""
    names = ("video", "thermal")
    alarms = DefectAlarms(("undercut",), p_on=0.6, p_off=0.4, n_on=2, m_off=2)
    w, on, off = np.array([0.8, 0.2]), np.array([True, True]), np.array([False, True])
    hops = [(0.9, on)] * 3 + [(0.9, off)] * 5 + [(0.1, on)] * 3  # still high without video: thermal alone
    for k, (p, present) in enumerate(hops):
        alarms.update(k * 0.1, np.array([p]), w, present, names)
    close = [e for e in alarms.events if e.kind == "close"][0]
    assert close.at_s == pytest.approx(0.9) and close.held_from_s == pytest.approx(0.3)
    (interval,) = alarms.intervals()
    assert interval["end_s"] == pytest.approx(0.3) and interval["held_from_s"] == pytest.approx(0.3)


def test_stalled_sensor_holds_the_alarms_it_carried(tiny):
    """End to end: a low alarm threshold opens alarms at once; stalling the sensors that carried
    them holds every one (a held event, "(held)" in the hop's alarms) — none is silently kept."""
    _, ck = tiny
    trained = load_trained(ck)
    trained = dataclasses.replace(trained, thresholds=[0.02] * len(trained.info.defects))
    path = tiny[0] / "a.h5"
    clean, _ = run_stream(trained, path)
    opened = [e for r in clean for e in r.events if getattr(e, "kind", "") == "open" and e.at_s < 1.0]
    assert opened and all(e.support for e in opened)
    gone = sorted({n for e in opened for n in e.support})
    assert len(gone) < len(trained.info.names)  # something is left to carry on with
    results, _ = run_stream(trained, path, stalls={n: [(1.0, 1.8)] for n in gone}, timeout_s=0.25)
    held = [e for r in results for e in r.events if getattr(e, "kind", "") == "held"]
    still_open = {e.defect for r in results if r.t < 1.0 for e in r.events if getattr(e, "kind", "") == "open"}
    for defect in still_open:
        closed_before = any(getattr(e, "kind", "") == "close" and e.defect == defect and e.at_s < 1.2
                            for r in results for e in r.events)
        if not closed_before:
            assert any(h.defect == defect and 1.0 <= h.at_s <= 2.3 for h in held), (defect, held)
            assert any(f"{defect}(held)" in r.alarms for r in results)
    assert held and all(1.0 <= h.at_s for h in held)


# -- wall-clock pacing ----------------------------------------------------------------------------------
def test_realtime_replay_keeps_up(tiny, trained):
    path = tiny[0] / "a.h5"
    t = time.perf_counter()
    results, summary = run_stream(trained, path, realtime=True)
    wall = time.perf_counter() - t
    assert wall >= 2.3  # paced: the 2.4 s recording takes its own duration
    assert summary.realtime and summary.hops == len(results) >= 19
    assert summary.on_time_share >= 0.9  # tiny model: ~10 ms per 100 ms hop (shared CPU: some slack)
    assert all(r.latency_ms > 0 for r in results)


class _SlowBackend(EagerBackend):
    def predict(self, inputs):
        time.sleep(0.25)
        return super().predict(inputs)


def test_realtime_replay_skips_to_the_latest_window_when_behind(tiny, trained):
    path = tiny[0] / "a.h5"
    results, summary = run_stream(trained, path, realtime=True, backend=_SlowBackend(trained.model))
    assert summary.skipped > 0 and summary.on_time_share < 0.5
    assert sum(r.skipped for r in results) == summary.skipped
    t0 = [r.t0 for r in results]
    assert t0 == sorted(t0) and max(np.diff(t0)) > HOP + 1e-6
    fast, _ = run_stream(trained, path)
    assert fast[-1].t0 == results[-1].t0  # the end of the recording is always reached


def test_a_sensor_reporting_only_nan_is_missing_not_nan_outputs(trained, tiny, tmp_path):
    """A dead DAQ that writes NaN: every window runs without electrical, and nothing turns NaN."""
    import shutil

    import h5py

    path = tmp_path / "dead_daq.h5"
    shutil.copy(tiny[0] / "a.h5", path)
    with h5py.File(path, "a") as f:
        data = f["streams/electrical/data"][()]
        del f["streams/electrical/data"]
        f["streams/electrical"].create_dataset("data", data=np.full_like(data, np.nan))
    with pytest.warns(DataWarning, match="non-finite"):
        results, summary = run_stream(trained, path)
    assert results and summary.hops == len(results)
    k = trained.info.names.index("electrical")
    for r in results:
        assert not r.present[k]
        assert np.isfinite(r.phase_probs).all() and np.isfinite(r.defect_probs).all()
