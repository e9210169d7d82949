"""``weldfusion predict``: weld-level results, events == live alarms, seam positions, verdicts, metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _sim_recordings import tiny_sim_recordings
from _stream_helpers import tiny_recipe, write_checkpoint
from weldfusion.datasets.reader import Recording
from weldfusion.recipes.taxonomy import LabelInterval
from weldfusion.recipes.weld import AcceptConfig, AcceptRule, Band, LimitsConfig
from weldfusion.tools.predict import cli
from weldfusion.tools.streaming.build import build_engine
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.training.loading import load_trained
from weldfusion.tools.welds.limits import limit_events
from weldfusion.tools.welds.metrics import edit_score, match_events, segment_counts, weld_metrics
from weldfusion.tools.welds.process import TRACE_RATE, ProcessTrace, process_trace
from weldfusion.tools.welds.timeline import Event, score_recording
from weldfusion.tools.welds.verdict import verdict

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Three simulated 3 s welds (with /truth) and an untrained tiny checkpoint whose alarms open at 0.3."""
    data = tiny_sim_recordings(tmp_path_factory.mktemp("pred_data"), {"Al-steel": 2, "Ti-Ni": 1})
    ck = write_checkpoint(tmp_path_factory.mktemp("pred_ck") / "tiny.pt", tiny_recipe(data), threshold=0.3)
    return data, ck


def test_predict_writes_every_output_and_lists_what_it_cannot_score(sim, tmp_path, capsys):
    data, ck = sim
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted(data.glob("*.h5")):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "broken.h5").write_text("not hdf5")
    out = tmp_path / "out"
    assert cli([str(ck), "--data", str(folder), "--out", str(out), "--quiet"]) == 0
    welds = pd.read_csv(out / "welds.csv")
    assert len(welds) == 3 and set(welds["verdict"]) <= {"accept", "reject"}
    for col in ("recording_id", "material_pair", "process", "duration_s", "seam_length_mm", "sensors", "verdict",
                "n_events", "n_porosity", "defect_length_mm", "heat_input_mean_kj_mm", "heat_input_min_kj_mm",
                "heat_input_max_kj_mm", "position_source"):
        assert col in welds.columns, col
    assert (welds["position_source"] == "travel_speed channel").all()
    events = pd.read_csv(out / "events.csv")
    assert list(events.columns) == ["recording_id", "source", "label", "start_s", "end_s", "start_mm", "end_mm",
                                    "peak_prob", "mean_prob", "modalities", "sensors_present", "evidence",
                                    "box_frame_s", "boxes"]
    assert events["boxes"].isna().all()  # no box head
    assert set(events["source"]) <= {"model", "limits"} and (events["end_s"] >= events["start_s"]).all()
    segments = pd.read_csv(out / "segments.csv")
    assert set(segments["recording_id"]) == set(welds["recording_id"])
    for _, g in segments.groupby("recording_id"):
        assert (np.diff(g["start_s"].to_numpy()) > 0).all()
        np.testing.assert_allclose(g["end_s"].to_numpy()[:-1], g["start_s"].to_numpy()[1:])  # contiguous
    assert all((out / "welds" / f"{rid}.png").stat().st_size > 10_000 for rid in welds["recording_id"])
    page = (out / "report.html").read_text()
    order = [page.index(f'<section id="{rid}">') for rid in welds.sort_values(
        ["verdict", "n_events"], ascending=[False, False])["recording_id"]]
    assert page.count("data:image/png;base64,") == 3 and "broken.h5" in page
    summary = json.loads((out / "predict.json").read_text())
    assert [p.endswith("broken.h5") for p, _ in summary["skipped"]] == [True]
    assert "not a readable HDF5 file" in summary["skipped"][0][1]
    rejected_first = welds.sort_values(["verdict", "n_events"], ascending=[False, False])
    assert rejected_first.iloc[0]["verdict"] == ("reject" if (welds["verdict"] == "reject").any() else "accept")
    assert order == sorted(order)  # worst first
    assert summary["metrics"]["segments"]["f1@0.10"] is not None  # the simulated welds are labelled
    assert cli([str(ck), "--data", str(folder), "--out", str(out), "--quiet"]) == 2  # existing output
    assert "--force" in capsys.readouterr().err


def test_predict_events_are_the_live_alarms(sim):
    data, ck = sim
    trained = load_trained(ck)
    for path in sorted(data.glob("*.h5")):
        tl = score_recording(trained, path, hop_s=0.1)
        with Replay(path, names=trained.info.names) as replay:
            summary = build_engine(trained, replay, hop_s=0.1).run(replay.packets())
        assert len(summary.alarms) == len(tl.alarms)
        for a, b in zip(summary.alarms, tl.alarms, strict=True):
            assert a["defect"] == b["defect"]
            assert a["start_s"] == pytest.approx(b["start_s"], abs=1e-9)
            assert (a["end_s"] is None) == (b["end_s"] is None)
            if a["end_s"] is not None:
                assert a["end_s"] == pytest.approx(b["end_s"], abs=1e-9)
    assert any(len(score_recording(trained, p).alarms) for p in data.glob("*.h5"))  # the test is not vacuous


def test_seam_positions_follow_the_torch_within_a_millimetre(sim):
    data, _ = sim
    for path in sorted(data.glob("*.h5")):
        with Recording(path) as rec:
            trace = process_trace(rec, nominal_speed_mm_s=8.0)
            truth = rec.h5["truth/torch_x_mm"][()]
            rate = float(rec.h5["truth"].attrs["control_rate"])
        t_truth = np.arange(len(truth)) / rate
        err = np.abs(trace.position_mm - np.interp(trace.t, t_truth, truth))
        assert trace.position_source == "travel_speed channel"
        assert err.max() <= 1.0, (path.name, float(err.max()))
        assert trace.position_mm[-1] > 5.0  # the torch really moved


def test_nominal_speed_without_a_travel_channel():
    t = np.arange(0, 2, 1 / TRACE_RATE)

    class Rec:  # the parts of a Recording process_trace reads
        span = (0.0, 2.0)
        streams: dict = {}
        meta = {"process": "GMAW"}
        phases = [LabelInterval(0.0, 0.5, "idle"), LabelInterval(0.5, 1.6, "deposition"),
                  LabelInterval(1.6, 2.0, "idle")]

    trace = process_trace(Rec(), nominal_speed_mm_s=10.0)
    assert trace.position_source == "nominal 10 mm/s (recipe)"
    np.testing.assert_allclose(trace.at(np.array([0.4, 1.5, 1.9])), [0.0, 10.0, 11.0])  # stops at the weld's end
    assert len(trace.t) == len(t)


def test_verdict_rules():
    cfg = AcceptConfig(rules={"porosity": AcceptRule(max_count=1, max_total_mm=5.0, min_prob=0.6),
                              "crack": AcceptRule(max_count=0)}, report_only=["spatter"])
    ev = [Event("porosity", "model", 0, 1, mean_prob=0.9, start_mm=0, end_mm=3),
          Event("porosity", "model", 2, 3, mean_prob=0.5, start_mm=10, end_mm=20),  # below min_prob
          Event("spatter", "model", 4, 5, mean_prob=0.9, start_mm=30, end_mm=35)]
    names = ("porosity", "crack", "spatter", "undercut")
    assert verdict(ev, names, cfg) == ("accept", [])
    ev.append(Event("porosity", "model", 6, 7, mean_prob=0.8, start_mm=40, end_mm=43))
    decision, why = verdict(ev, names, cfg)
    assert decision == "reject" and why == ["porosity: 2 event(s) > 1 allowed", "porosity: 6.0 mm > 5 mm allowed"]
    assert verdict([Event("undercut", "model", 0, 1, mean_prob=0.9)], names, cfg)[0] == "reject"  # no rule: any


def test_limit_bands_find_a_current_step_and_skip_the_start_ramp():
    t = np.arange(0, 4, 1 / TRACE_RATE)
    current = np.where(t < 0.5, 0.0, 200.0)
    current[(t >= 0.5) & (t < 0.8)] = 120.0  # start ramp: ignored
    current[(t >= 2.0) & (t < 2.5)] = 260.0  # +30 %: a violation of +-15 %
    chans = {k: np.full(len(t), np.nan) for k in ("voltage", "wire_feed", "travel_speed", "power", "heat_input")}
    trace = ProcessTrace(t, t * 0, "x", 0.5, {"current": current, **chans}, current >= 20)
    found = limit_events(trace, LimitsConfig(bands={"current": Band(tolerance_pct=15.0)}))
    assert [(e.label, e.source) for e in found] == [("current_high", "limits")]
    assert found[0].start_s == pytest.approx(2.0) and found[0].end_s == pytest.approx(2.5)


def test_segment_and_event_metrics():
    true = [("idle", 0.0, 1.0), ("deposition", 1.0, 3.0), ("arc_end", 3.0, 4.0)]
    pred = [("idle", 0.0, 1.1), ("deposition", 1.1, 2.0), ("weaving", 2.0, 2.2), ("deposition", 2.2, 3.0),
            ("arc_end", 3.0, 4.0)]
    assert segment_counts(pred, true, 0.25) == (3, 2, 0)  # deposition 1.1-2.0 matches (IoU 0.45); 2.2-3.0, weaving FP
    assert segment_counts(pred, true, 0.5) == (2, 3, 1)  # no deposition piece reaches IoU 0.5: the label is missed
    assert segment_counts(true, true, 0.5) == (3, 0, 0)
    assert edit_score([p[0] for p in pred], [t[0] for t in true]) == pytest.approx(1 - 2 / 5)
    det = [Event("crack", "model", 1.05, 1.5), Event("crack", "model", 5.0, 5.2)]
    assert match_events(det, [(1.0, 1.6), (3.0, 3.5)]) == [(0, 0)]  # IoU 0.75; the second is a false alarm
    welds = [{"segments": [], "events": det, "duration_s": 60.0, "position": lambda s: 10 * s,
              "labels": {"phases": [LabelInterval(0, 60, "deposition")],
                         "defects": [LabelInterval(1.0, 1.6, "crack"), LabelInterval(3.0, 3.5, "crack")]}}]
    m = weld_metrics(welds, ("deposition",), ("crack",))
    ev = m["events"]
    assert (ev["recall"], ev["precision"], ev["false_alarms_per_min"]) == (0.5, 0.5, 1.0)
    assert ev["onset_error_s"]["median"] == pytest.approx(0.05) and ev["position_error_mm"]["median"] == pytest.approx(0.5)


def test_a_dead_daq_falls_back_to_the_nominal_speed(sim, tmp_path):
    import shutil

    import h5py

    data, _ = sim
    path = tmp_path / "dead.h5"
    shutil.copy(sorted(data.glob("*.h5"))[0], path)
    with h5py.File(path, "a") as f:
        d = f["streams/electrical/data"][()]
        del f["streams/electrical/data"]
        f["streams/electrical"].create_dataset("data", data=np.full_like(d, np.nan))
    with Recording(path) as rec:
        trace = process_trace(rec, nominal_speed_mm_s=8.0)
    assert trace.position_source.startswith("nominal 8 mm/s")
    assert np.isfinite(trace.position_mm).all() and trace.position_mm[-1] > 0


def test_worker_processes_give_the_same_welds(sim):
    from weldfusion.tools.welds.predict import score_files

    data, ck = sim
    trained = load_trained(ck)
    files = sorted(data.glob("*.h5"))
    one, _, _ = score_files(trained, files)
    two, _, _ = score_files(trained, files, workers=2)
    assert [r["timeline"].recording_id for r in one] == [r["timeline"].recording_id for r in two]
    for a, b in zip(one, two, strict=True):
        assert [(e.label, e.source) for e in a["events"]] == [(e.label, e.source) for e in b["events"]]
        np.testing.assert_allclose(a["timeline"].defect_probs, b["timeline"].defect_probs, atol=1e-5)


def test_events_carry_the_boxes_of_their_strongest_frame(sim, tmp_path):
    """A box head fixed to "pore in the middle of the frame": every model event of predict carries
    that box and the time of its strongest frame, inside the event's windows."""
    from _stream_helpers import fixed_box_checkpoint
    from weldfusion.sensors.boxes import CLASSES

    data, _ = sim
    ck = fixed_box_checkpoint(tmp_path / "boxes.pt", tiny_recipe(data), CLASSES.index("pore"), threshold=0.3)
    out = tmp_path / "out"
    assert cli([str(ck), "--data", str(data), "--out", str(out), "--quiet"]) == 0
    events = pd.read_csv(out / "events.csv")
    model = events[events["source"] == "model"]
    assert len(model) > 0
    for _, e in model.iterrows():
        boxes = json.loads(e["boxes"])
        assert len(boxes) == 2 and {b["class"] for b in boxes} == {"pore"} and min(b["score"] for b in boxes) > 0.9
        np.testing.assert_allclose(boxes[0]["xyxy"], [0.25, 0.25, 0.75, 0.75], atol=1e-3)
        assert e["start_s"] - 0.4 <= e["box_frame_s"] <= e["end_s"] + 0.4  # a frame of one of its windows


def test_predict_through_onnx_of_a_box_head_model(sim, tmp_path):
    """``predict --onnx`` with the export of a box-head model: the same welds as eager, events without
    boxes (the ONNX path carries the three main outputs)."""
    from _stream_helpers import fixed_box_checkpoint
    from weldfusion.sensors.boxes import CLASSES
    from weldfusion.tools.streaming.onnx_export import export_onnx

    data, _ = sim
    ck = fixed_box_checkpoint(tmp_path / "boxes.pt", tiny_recipe(data), CLASSES.index("pore"), threshold=0.3)
    trained = load_trained(ck)
    onnx = export_onnx(trained.model, trained.info, tmp_path / "boxes.onnx")
    assert cli([str(ck), "--data", str(data), "--out", str(tmp_path / "eager"), "--quiet"]) == 0
    assert cli([str(ck), "--data", str(data), "--out", str(tmp_path / "onnx"), "--onnx", str(onnx), "--quiet"]) == 0
    eager, via_onnx = (pd.read_csv(tmp_path / d / "welds.csv") for d in ("eager", "onnx"))
    assert eager["verdict"].tolist() == via_onnx["verdict"].tolist()
    assert pd.read_csv(tmp_path / "onnx" / "events.csv")["boxes"].isna().all()
