"""The model over one recording: per-window probabilities, refined, turned into events and segments.

Windows of the recipe's length start every ``hop_s`` (default 0.1 s, as ``weldfusion stream``) and
are scored in batches; windows in which no sensor is present are skipped (as the live engine does).
In time order, every window goes through :class:`~weldfusion.tools.streaming.decisions.HopDecisions`
— Eq. 49 refinement and the debounced alarms, the same code as the live engine — so the events
of a recording are exactly the alarms ``weldfusion stream`` raises on it.

Times: an alarm opens and closes at the *end* of a window (the newest data, as live); an event
reports the *centre* of those windows (``alarm time - window_s / 2``), the time the evidence is
about. The phase timeline is the refined phase of every window, each window standing for
[centre - hop/2, centre + hop/2); consecutive windows of one phase form a segment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.datasets.windows import WindowDataset
from weldfusion.fusion.localisation import box_modality
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.decisions import HopDecisions, alarms_for
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.streaming.output import box_dicts
from weldfusion.tools.training.localisation import BOX_SCORE, window_boxes
from weldfusion.tools.training.predict import predict


@dataclass
class Timeline:
    """Per-window results of one recording (N windows with a sensor present, time order).

    ``t0`` (N,) window starts (s); ``phase_probs`` (N, P) and ``defect_probs`` (N, D) refined,
    ``raw_defect_probs`` (N, D) this window alone; ``weights`` (N, M) modality weights;
    ``present`` (N, M) bool; ``alarms``: the alarm intervals (window-end times, as live);
    ``boxes``: with a box head, per window the strongest frame's time (s) and its boxes (K, 6)
    ``[class, score, x0, y0, x1, y1]`` (box in [0, 1] of the frame, score >= :data:`BOX_SCORE`), else None.
    """

    recording_id: str
    path: Path
    meta: dict
    window_s: float
    hop_s: float
    names: tuple[str, ...]
    phases: tuple[str, ...]
    defects: tuple[str, ...]
    t0: np.ndarray
    phase_probs: np.ndarray
    defect_probs: np.ndarray
    raw_defect_probs: np.ndarray
    weights: np.ndarray
    present: np.ndarray
    alarms: list[dict] = field(default_factory=list)
    labels: dict = field(default_factory=dict)  # "phases"/"defects": LabelInterval lists when labelled
    boxes: list | None = None

    @property
    def centres(self) -> np.ndarray:
        return self.t0 + self.window_s / 2

    @property
    def phase_index(self) -> np.ndarray:
        return self.phase_probs.argmax(axis=1)


def check_scorable(trained, ds: WindowDataset, where: str) -> None:
    """:class:`InvalidInput` naming ``where`` when the recording's windows differ from the model's."""
    mine, theirs = ds.info.to_dict(), trained.info.to_dict()
    if mine != theirs:
        diff = [k for k in mine if mine[k] != theirs.get(k)]
        raise InvalidInput(f"{where}: windows do not match what the model was trained on ({', '.join(diff)} differ)")


def score_recording(trained, path: str | Path, *, hop_s: float = HOP_S, batch_size: int = 32,
                    device: torch.device | str = "cpu", alarm_kw: dict | None = None) -> Timeline:
    """The :class:`Timeline` of one recording (labelled or not) under ``trained``."""
    path = Path(path)
    cfg = dataclasses.replace(trained.recipe.data, hop_s=hop_s)
    ds = WindowDataset(path, cfg, norm=trained.norm)
    check_scorable(trained, ds, str(path))
    info = trained.info
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0)
    found: dict = {}
    collect = (lambda batch, out: found.update(window_boxes(out, batch, info.window_s))) \
        if box_modality(trained.model) is not None else None
    pred = predict(trained.model, loader, torch.device(device), on_batch=collect)
    order = np.argsort(pred["t0"], kind="stable")
    keep = order[pred["present"][order].any(axis=1)]  # the live engine skips windows without any sensor
    decisions = HopDecisions(alarms_for(info.defects, trained.thresholds, **(alarm_kw or {})))
    learnt = pred.get("modality_weights")  # comparison networks without a fusion layer have none
    weights = learnt if learnt is not None else np.full((len(pred["t0"]), len(info.names)), 1.0 / max(len(info.names), 1))
    ref_p = np.zeros_like(pred["phase_probs"][keep])
    ref_d = np.zeros_like(pred["defect_probs"][keep])
    for j, i in enumerate(keep):
        ref_p[j], ref_d[j], _ = decisions.update(
            float(pred["t0"][i]) + info.window_s, pred["phase_probs"][i], pred["defect_probs"][i],
            None if learnt is None else learnt[i], pred["present"][i].astype(bool), info.names)
    ds.close()
    with Recording(path) as rec:
        labels = {"phases": rec.phases, "defects": rec.defects}
        meta = dict(rec.meta)
    boxes = None
    if collect is not None:
        boxes = []
        for t0 in pred["t0"][keep]:
            got = found.get(round(float(t0), 6))
            boxes.append(None if got is None else (float(got[0][0]), got[1][0][got[1][0][:, 1] >= BOX_SCORE]))
    return Timeline(
        str(meta.get("recording_id", path.stem)), path, meta, info.window_s, hop_s, info.names, info.phases,
        info.defects, pred["t0"][keep], ref_p, ref_d, pred["defect_probs"][keep], weights[keep],
        pred["present"][keep].astype(bool), decisions.intervals(), labels, boxes)


@dataclass
class Event:
    """A detected defect event (``source`` ``model`` or ``limits``); times in s, positions in mm."""

    label: str
    source: str
    start_s: float
    end_s: float
    peak_prob: float = float("nan")
    mean_prob: float = float("nan")
    modalities: dict = field(default_factory=dict)  # sensor -> mean modality weight over the event
    sensors_present: tuple[str, ...] = ()
    start_mm: float = float("nan")
    end_mm: float = float("nan")
    evidence: str = ""  # "" = backed by its sensors to the end; else why it was held
    box_frame_s: float = float("nan")  # with a box head: the event's strongest frame (s) ...
    boxes: tuple = ()  # ... and its boxes: ({"class", "score", "xyxy" (in [0, 1] of the frame)}, ...)

    @property
    def length_mm(self) -> float:
        return max(0.0, self.end_mm - self.start_mm) if np.isfinite(self.start_mm) else 0.0


def model_events(tl: Timeline) -> list[Event]:
    """The alarms of the timeline as events at window-centre times (see module docstring)."""
    out = []
    last_end = float(tl.t0[-1] + tl.window_s) if len(tl.t0) else 0.0
    ends = tl.t0 + tl.window_s
    for a in tl.alarms:
        end = a["end_s"] if a["end_s"] is not None else last_end
        k = tl.defects.index(a["defect"])
        sel = (ends >= a["start_s"] - TIME_EPS) & (ends < end - TIME_EPS)
        if not sel.any():  # an alarm opened by the very last window: that window alone
            sel = np.arange(len(ends)) == np.argmin(np.abs(ends - a["start_s"]))
        w = tl.weights[sel].mean(axis=0)
        share = tl.present[sel].mean(axis=0)
        frame_s, boxes = _event_boxes(tl, sel, k)
        out.append(Event(
            a["defect"], "model", a["start_s"] - tl.window_s / 2, end - tl.window_s / 2, float(a["peak"]),
            float(tl.defect_probs[sel, k].mean()), {n: round(float(v), 3) for n, v in zip(tl.names, w, strict=True)},
            tuple(n for n, s in zip(tl.names, share, strict=True) if s >= 0.5),
            evidence=(f"held: {'+'.join(a.get('support', []))} lost at {a['held_from_s'] - tl.window_s / 2:.2f} s; "
                      "ends there" if a.get("held_from_s") is not None else ""), box_frame_s=frame_s, boxes=boxes))
    return sorted(out, key=lambda e: (e.start_s, e.label))


def _event_boxes(tl: Timeline, sel: np.ndarray, k: int) -> tuple[float, tuple]:
    """The boxes of an event's strongest frame: that of its window with the highest probability of defect ``k``."""
    if tl.boxes is None:
        return float("nan"), ()
    idx = np.flatnonzero(sel)
    idx = idx[[tl.boxes[i] is not None for i in idx]]
    if not len(idx):
        return float("nan"), ()
    frame_s, boxes = tl.boxes[int(idx[np.argmax(tl.defect_probs[idx, k])])]
    return frame_s, tuple(box_dicts(boxes))


@dataclass
class Segment:
    """A stretch of one predicted phase."""

    phase: str
    start_s: float
    end_s: float
    mean_prob: float
    start_mm: float = float("nan")
    end_mm: float = float("nan")
    heat_input_kj_mm: float = float("nan")


def phase_segments(tl: Timeline) -> list[Segment]:
    """The phase timeline of ``tl`` as segments (see module docstring)."""
    if not len(tl.t0):
        return []
    idx = tl.phase_index
    centres = tl.centres
    cuts = np.flatnonzero(np.diff(idx)) + 1
    out = []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(idx)], strict=True):
        k = int(idx[a])
        out.append(Segment(tl.phases[k], float(centres[a] - tl.hop_s / 2), float(centres[b - 1] + tl.hop_s / 2),
                           float(tl.phase_probs[a:b, k].mean())))
    return out
