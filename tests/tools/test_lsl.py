"""Live path over Lab Streaming Layer on this machine only: serve a recording as LSL outlets,
stream from them, and get what offline inference of the same recording gives (issue 12)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from _stream_helpers import tiny_run
from torch.utils.data import default_collate
from weldfusion.datasets.windows import WindowDataset
from weldfusion.tools.streaming.build import build_engine
from weldfusion.tools.streaming.lsl import LslSource, serve_lsl, write_machine_only_config
from weldfusion.tools.training.loading import load_trained

# liblsl reads its configuration once, when it is first used: machine-only scope before anything
# of pylsl runs (the file lives for the test process).
_CFG = write_machine_only_config(Path(tempfile.gettempdir()) / f"weldfusion_lsl_api_{os.getpid()}.cfg")
os.environ["LSLAPICFG"] = str(_CFG)
pytest.importorskip("pylsl")
pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rec, ck = tiny_run(tmp_path_factory, "lsl")
    return rec, load_trained(ck)


def _offline(trained, path, hop_s):
    ds = WindowDataset(path, dataclasses.replace(trained.recipe.data, hop_s=hop_s), norm=trained.norm)
    out = {}
    with torch.inference_mode():
        for i in range(len(ds)):
            batch = default_collate([ds[i]])
            out[round(float(batch["t0"][0]), 9)] = trained.model(batch)["defect_probs"][0].numpy()
    return out


def test_served_recording_streams_like_offline_inference(tiny):
    rec, trained = tiny
    prefix = f"wftest{os.getpid()}"
    ready, stop = threading.Event(), threading.Event()
    server = threading.Thread(target=serve_lsl, args=(rec,), kwargs=dict(prefix=prefix, ready=ready, stop=stop,
                                                                      names=trained.info.names, lead_s=3.0),
                              daemon=True)
    server.start()
    try:
        assert ready.wait(20)
        results = []
        with LslSource(trained.info.names, prefix=prefix, resolve_s=10, idle_s=1.5) as source:
            assert set(source.headers) == set(trained.info.names) and source.meta["recording_id"] == "a"
            engine = build_engine(trained, source, hop_s=0.1)
            summary = engine.run(source.packets(), realtime=False, on_result=results.append, live_clock=source.now)
    finally:
        stop.set()
        server.join(timeout=30)
    ref = _offline(trained, rec, 0.1)
    got = {round(r.t0, 9): r for r in results}
    assert sorted(got) == sorted(ref) and summary.hops == len(ref)  # the same windows
    for t0, r in got.items():
        np.testing.assert_allclose(r.raw_defect_probs, ref[t0], atol=1e-5)  # the same predictions
        assert r.present.all()
    lat = np.array([r.latency_ms for r in results])
    assert np.all(lat > 0) and np.median(lat) < 1000  # from each window's end, on the live clock
    assert summary.on_time_share is not None and summary.on_time_share > 0.5


def test_serve_replay_and_stream_lsl_verbs(tiny, tmp_path, capsys):
    """The two verbs end to end: `serve-replay --lsl` in another process, `stream --lsl` here."""
    import subprocess
    import sys

    from weldfusion.tools import stream

    rec, trained = tiny
    prefix = f"wfcli{os.getpid()}"
    server = subprocess.Popen([sys.executable, "-m", "weldfusion.tools.serve_replay", str(rec), "--lsl", prefix,
                               "--lead-s", "4"], env={**os.environ, "LSLAPICFG": str(_CFG)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = tmp_path / "live.jsonl"
        code = stream.cli([str(trained.path), "--lsl", prefix, "--out", str(out), "--quiet", "--resolve-s", "20"])
        text = capsys.readouterr().out
        assert code == 0, text
        assert f"streaming lsl:{prefix}" in text and "alarms:" in text
        assert len(out.read_text().splitlines()) == len(_offline(trained, rec, 0.1))
    finally:
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0 and "sent" in stdout, stderr[-500:]


def test_lsl_argument_errors_are_one_line(tiny, capsys):
    from weldfusion.tools import serve_replay, stream

    _, trained = tiny
    assert stream.cli([str(trained.path)]) == 2
    assert "give a RECORDING.h5 to replay or --lsl" in capsys.readouterr().err
    assert stream.cli([str(trained.path), "--lsl", "x", "--stall", "video:1-2"]) == 2
    assert "--stall/--realtime apply to a replay" in capsys.readouterr().err
    assert serve_replay.cli(["nowhere.h5", "--lsl"]) == 2
    assert "no such recording file" in capsys.readouterr().err


def test_sensor_plugged_in_late_joins_the_stream(tiny, tmp_path):
    """The microphone's outlet appears 1.5 s into the weld, after the source has started: it is
    picked up, a ``joined`` event marks it, the windows before it lack it, and every window that
    has all sensors after it gives what offline inference gives."""
    import time

    from _training_data import write_recording

    _, trained = tiny
    rec = write_recording(tmp_path / "late.h5", "late", "Al-steel", "GMAW", seed=2, duration=6.0)
    prefix, late = f"wflate{os.getpid()}", "acoustic"
    early = [n for n in trained.info.names if n != late]
    start_at = time.time() + 5.0
    stop, ready = threading.Event(), threading.Event()

    def plugged_in_late():
        while time.time() < start_at + 1.5 and not stop.is_set():
            time.sleep(0.01)
        serve_lsl(rec, prefix=prefix, names=[late], start_at=start_at, stop=stop)

    servers = [threading.Thread(target=serve_lsl, args=(rec,), daemon=True, kwargs=dict(
        prefix=prefix, names=early, start_at=start_at, stop=stop, ready=ready)),
        threading.Thread(target=plugged_in_late, daemon=True)]
    for s in servers:
        s.start()
    try:
        assert ready.wait(20)
        results = []
        with LslSource(trained.info.names, prefix=prefix, resolve_s=3.0, idle_s=1.5) as source:
            assert late not in source.headers  # not there at the start ...
            engine = build_engine(trained, source, hop_s=0.1)
            summary = engine.run(source.packets(), realtime=False, on_result=results.append)
            assert late in source.headers  # ... received once it appeared
    finally:
        stop.set()
        for s in servers:
            s.join(timeout=30)
    joined = [e for e in summary.sensor_events if e.kind == "joined"]
    # found within a fraction of a second of appearing (0.14 s with a busy CPU beside it)
    assert [e.name for e in joined] == [late] and 1.5 < joined[0].time_s < 3.5, summary.sensor_events
    j = list(trained.info.names).index(late)
    assert all(not r.present[j] for r in results if r.t < joined[0].time_s)  # absent before it joined
    ref = _offline(trained, rec, 0.1)
    after = [r for r in results if r.t0 > joined[0].time_s + 0.3 and r.present.all()]
    assert len(after) >= 5 and results[-1].present.all(), (summary.sensor_events, [(r.t0, r.present.tolist()) for r in results])
    for r in after:
        np.testing.assert_allclose(r.raw_defect_probs, ref[round(r.t0, 9)], atol=1e-5)
