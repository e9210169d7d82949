"""``weldfusion predict``: a trained model over a folder of welds (labelled or not) -> weld-level results.

For every recording: the model's timeline (:mod:`.timeline`, the live engine's decisions),
events with seam positions (:mod:`.process`), classic limit violations (:mod:`.limits`), the
phase segments, the verdict of the recipe's acceptance rules (:mod:`.verdict`) and the timeline
figure (:mod:`.figure`). Recordings the model cannot score (no sensor it knows, another taxonomy
or material pair, an unreadable file) are listed with the reason and the others go on.

Writes (through a staging folder, all or nothing): ``welds.csv``, ``events.csv``,
``segments.csv``, ``welds/<recording_id>.png``, ``report.html`` and ``predict.json`` (the run's
settings, the skipped recordings, and — for labelled recordings — the event/segment metrics of
:mod:`.metrics`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.splits import resolve_files
from weldfusion.recipes.errors import InvalidInput, UserError
from weldfusion.tools.outputs import output_dir, staged_output
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.training.loading import load_trained
from weldfusion.tools.welds.figure import timeline_figure
from weldfusion.tools.welds.limits import limit_events
from weldfusion.tools.welds.metrics import weld_metrics
from weldfusion.tools.welds.process import ProcessTrace, process_trace
from weldfusion.tools.welds.report import write_report
from weldfusion.tools.welds.timeline import Event, Segment, Timeline, model_events, phase_segments, score_recording
from weldfusion.tools.welds.verdict import verdict


def _fmt_weights(w: dict) -> str:
    return " ".join(f"{k}:{v:.2f}" for k, v in sorted(w.items(), key=lambda kv: -kv[1]))


def truth_seam_errors(path: Path, events) -> list[float]:
    """|start_mm - true torch travel at start_s| of every event, for simulated recordings (``/truth/torch_x_mm``)."""
    with Recording(path) as rec:
        truth = rec.h5.get("truth")
        if truth is None or "torch_x_mm" not in truth:
            return []
        x = truth["torch_x_mm"][()]
        rate = float(truth.attrs["control_rate"])
    t = np.arange(len(x)) / rate
    return [abs(e.start_mm - float(np.interp(e.start_s, t, x))) for e in events]


def weld_result(trained, path: Path, *, hop_s: float = HOP_S, batch_size: int = 32, device="cpu") -> dict:
    """Timeline, trace, events (model + limits, with mm), segments and verdict of one recording."""
    recipe = trained.recipe
    tl: Timeline = score_recording(trained, path, hop_s=hop_s, batch_size=batch_size, device=device)
    with Recording(path) as rec:
        trace: ProcessTrace = process_trace(rec, recipe.seam.nominal(str(rec.meta.get("process"))), recipe.limits.arc_on_a)
        duration = float(rec.span[1] - rec.span[0])
        sensors = tuple(n for n in rec.streams if rec.streams[n].n > 0)
    events: list[Event] = model_events(tl) + limit_events(trace, recipe.limits, trace.sensor)
    for e in events:
        e.start_mm, e.end_mm = float(trace.at(e.start_s)), float(trace.at(e.end_s))
    segments: list[Segment] = phase_segments(tl)
    for s in segments:
        s.start_mm, s.end_mm = float(trace.at(s.start_s)), float(trace.at(s.end_s))
        s.heat_input_kj_mm = trace.mean_over("heat_input", s.start_s, s.end_s)
    decision, reasons = verdict(events, tl.defects, recipe.accept)
    return {"timeline": tl, "trace": trace, "events": sorted(events, key=lambda e: (e.start_s, e.source, e.label)),
            "segments": segments, "verdict": decision, "reasons": reasons, "duration_s": duration,
            "sensors": sensors}


def weld_row(r: dict, defects) -> dict:
    """The ``welds.csv`` row of one weld result."""
    tl, trace = r["timeline"], r["trace"]
    model = [e for e in r["events"] if e.source == "model"]
    hi = trace.channels["heat_input"][trace.arc_on]
    hi = hi[np.isfinite(hi)]
    row = {"recording_id": tl.recording_id, "material_pair": tl.meta.get("material_pair"),
           "process": tl.meta.get("process"), "duration_s": round(r["duration_s"], 3),
           "seam_length_mm": round(float(np.nanmax(trace.position_mm)), 2) if len(trace.position_mm) else 0.0,
           "sensors": "+".join(r["sensors"]), "verdict": r["verdict"], "n_events": len(model)}
    for d in defects:
        row[f"n_{d}"] = sum(e.label == d for e in model)
    row["defect_length_mm"] = round(sum(e.length_mm for e in model), 2)
    row["n_limit_events"] = sum(e.source == "limits" for e in r["events"])
    row["heat_input_mean_kj_mm"] = round(float(hi.mean()), 4) if len(hi) else None
    row["heat_input_min_kj_mm"] = round(float(hi.min()), 4) if len(hi) else None
    row["heat_input_max_kj_mm"] = round(float(hi.max()), 4) if len(hi) else None
    row["position_source"] = trace.position_source
    row["why"] = "; ".join(r["reasons"])
    return row


def event_rows(r: dict) -> list[dict]:
    """The ``events.csv`` rows of one weld result."""
    rid = r["timeline"].recording_id
    return [{"recording_id": rid, "source": e.source, "label": e.label, "start_s": round(e.start_s, 4),
             "end_s": round(e.end_s, 4), "start_mm": round(e.start_mm, 2), "end_mm": round(e.end_mm, 2),
             "peak_prob": None if np.isnan(e.peak_prob) else round(e.peak_prob, 4),
             "mean_prob": None if np.isnan(e.mean_prob) else round(e.mean_prob, 4),
             "modalities": _fmt_weights(e.modalities), "sensors_present": "+".join(e.sensors_present),
             "evidence": e.evidence,
             "box_frame_s": None if np.isnan(e.box_frame_s) else round(e.box_frame_s, 4),
             "boxes": json.dumps(list(e.boxes)) if e.boxes else ""}
            for e in r["events"]]


def segment_rows(r: dict) -> list[dict]:
    """The ``segments.csv`` rows of one weld result."""
    rid = r["timeline"].recording_id
    return [{"recording_id": rid, "phase": s.phase, "start_s": round(s.start_s, 4), "end_s": round(s.end_s, 4),
             "start_mm": round(s.start_mm, 2), "end_mm": round(s.end_mm, 2), "mean_prob": round(s.mean_prob, 4),
             "heat_input_kj_mm": None if np.isnan(s.heat_input_kj_mm) else round(s.heat_input_kj_mm, 4)}
            for s in r["segments"]]


def metrics_input(r: dict) -> dict:
    """What :func:`~.metrics.weld_metrics` needs of one weld result."""
    tl, trace = r["timeline"], r["trace"]
    return {"segments": r["segments"], "events": r["events"], "labels": tl.labels, "duration_s": r["duration_s"],
            "position": trace.at}


def score_welds(trained, files, *, hop_s: float = HOP_S, batch_size: int = 32, device="cpu", progress: bool = False
                ) -> dict | None:
    """The weld-level metrics (:func:`~.metrics.weld_metrics`) of ``trained`` on labelled ``files``
    (what ``evaluate`` and ``compare`` add to their window metrics); None when none is labelled."""
    labelled = []
    for path in tqdm(list(files), desc="welds", unit="weld", disable=not progress, leave=False):
        r = weld_result(trained, Path(path), hop_s=hop_s, batch_size=batch_size, device=device)
        if r["timeline"].labels.get("phases"):
            labelled.append(metrics_input(r))
    return weld_metrics(labelled, trained.info.phases, trained.info.defects) if labelled else None


_WORKER: dict = {}  # the model of a worker process of score_files (set once by _init_worker)


def _init_worker(trained, kwargs: dict) -> None:
    torch.set_num_threads(1)  # the processes share the cores: one thread each
    _WORKER.update(trained=trained, kwargs=kwargs)


def _outcome(trained, path: str, kwargs: dict) -> tuple[str, dict | str]:
    try:
        return "ok", weld_result(trained, Path(path), **kwargs)
    except UserError as err:  # this recording cannot be scored: say why, go on with the others
        return "skip", str(err).removeprefix(f"{path}: ")


def _score_one(path: str) -> tuple[str, dict | str]:
    return _outcome(_WORKER["trained"], path, _WORKER["kwargs"])


def score_files(trained, files, *, hop_s: float = HOP_S, batch_size: int = 32, device="cpu", workers: int = 1,
                progress: bool = False) -> tuple[list[dict], list[tuple[str, str]], float]:
    """Weld results of every file that can be scored, (path, reason) of the others, and the wall time (s).

    ``workers`` > 1 scores recordings in that many processes (one torch thread each; results in
    file order)."""
    kwargs = {"hop_s": hop_s, "batch_size": batch_size, "device": device}
    files = [str(f) for f in files]
    t_start = time.perf_counter()
    if workers > 1 and len(files) > 1:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
        with ProcessPoolExecutor(max_workers=min(workers, len(files)), mp_context=ctx, initializer=_init_worker,
                                 initargs=(trained, kwargs)) as pool:
            outcomes = list(tqdm(pool.map(_score_one, files), total=len(files), desc="predict", unit="weld",
                                 disable=not progress))
    else:
        outcomes = [_outcome(trained, path, kwargs) for path in tqdm(files, desc="predict", unit="weld",
                                                                      disable=not progress)]
    results = [r for kind, r in outcomes if kind == "ok"]
    skipped = [(path, r) for path, (kind, r) in zip(files, outcomes, strict=True) if kind == "skip"]
    return results, skipped, time.perf_counter() - t_start


def run_predict(checkpoint: str | os.PathLike, data, out: str | os.PathLike, *, hop_s: float = HOP_S,
                batch_size: int = 32, workers: int = 1, device: str = "cpu", onnx: str | os.PathLike | None = None,
                figures: bool = True, force: bool = False, progress: bool = True) -> dict:
    """Score every recording of ``data`` with ``checkpoint``; write the outputs to ``out``; return the summary."""
    if not hop_s > 0:
        raise InvalidInput(f"--hop-s must be > 0, got {hop_s}")
    if batch_size < 1 or workers < 1:
        raise InvalidInput(f"--batch-size and --workers must be >= 1, got {batch_size}, {workers}")
    if onnx is not None and workers > 1:
        raise InvalidInput("--onnx scores in one process (ONNX Runtime sessions do not travel to workers); drop --workers")
    output_dir(out, force=force, inputs=[checkpoint, data])
    files = resolve_files(data)
    trained = load_trained(checkpoint, torch.device(device))
    if onnx is not None:
        from weldfusion.tools.welds.onnx_model import OnnxModel  # lazy: ONNX Runtime only with --onnx

        trained.model = OnnxModel(onnx, trained, threads=max(1, torch.get_num_threads()))
    defects = trained.info.defects
    results, skipped, wall = score_files(trained, files, hop_s=hop_s, batch_size=batch_size, device=device,
                                         workers=workers, progress=progress)
    if not results:
        raise InvalidInput(f"{data}: no recording could be scored ({len(skipped)} skipped: "
                           + "; ".join(f"{p}: {r}" for p, r in skipped[:3]) + ")")
    welds = [weld_row(r, defects) for r in results]
    events = [row for r in results for row in event_rows(r)]
    segments = [row for r in results for row in segment_rows(r)]
    labelled = [metrics_input(r) for r in results if r["timeline"].labels.get("phases")]
    summary = {"checkpoint": str(trained.path), "data": str(data), "hop_s": hop_s, "n_welds": len(results),
               "n_rejected": sum(w["verdict"] == "reject" for w in welds), "skipped": skipped,
               "weld_seconds": float(sum(r["duration_s"] for r in results)), "wall_s": wall,
               "backend": "onnx" if onnx is not None else "eager",
               "metrics": weld_metrics(labelled, trained.info.phases, defects) if labelled else None}
    summary["realtime_factor"] = summary["weld_seconds"] / wall if wall > 0 else None
    by_source: dict[str, list[float]] = {}
    for r in results:  # simulated welds: seam positions against the torch's true travel, per position source
        by_source.setdefault(r["trace"].position_source, []).extend(truth_seam_errors(r["timeline"].path, r["events"]))
    seam = {src: {"n_events": len(e), "max_abs_error_mm": float(max(e)), "median_abs_error_mm": float(np.median(e))}
            for src, e in by_source.items() if e}
    if seam:
        summary["seam_check"] = seam
    with staged_output(out, force=force) as tmp:
        (tmp / "welds").mkdir()
        event_cols = ["recording_id", "source", "label", "start_s", "end_s", "start_mm", "end_mm", "peak_prob",
                      "mean_prob", "modalities", "sensors_present", "evidence", "box_frame_s", "boxes"]
        seg_cols = ["recording_id", "phase", "start_s", "end_s", "start_mm", "end_mm", "mean_prob", "heat_input_kj_mm"]
        pd.DataFrame(welds).to_csv(tmp / "welds.csv", index=False)
        pd.DataFrame(events, columns=event_cols).to_csv(tmp / "events.csv", index=False)
        pd.DataFrame(segments, columns=seg_cols).to_csv(tmp / "segments.csv", index=False)
        pngs = {}
        if figures:
            for r, w in zip(results, welds, strict=True):
                tl = r["timeline"]
                pngs[tl.recording_id] = timeline_figure(tl, r["trace"], r["events"], r["segments"], trained.thresholds,
                                                        tmp / "welds" / f"{tl.recording_id}.png", w["verdict"])
        write_report(tmp / "report.html", welds, events, pngs, defects, skipped,
                     f"weldfusion predict — {len(results)} weld(s), {Path(str(trained.path)).name}")
        (tmp / "predict.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
