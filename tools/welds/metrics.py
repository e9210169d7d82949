"""Weld-level metrics (when labels exist): the phase timeline as segments, defects as events.

**Segments** (the action-segmentation metrics of MS-TCN / ASFormer, on continuous time):
predicted phase segments (:func:`~.timeline.phase_segments`) against the labelled phase intervals
(touching intervals of one phase merged). Segmental F1@k: a predicted segment is a true positive
when its IoU with a not yet matched labelled segment of the same phase is >= k (the best one),
otherwise a false positive; unmatched labelled segments are false negatives; counts are summed
over recordings. Edit score: 1 - Levenshtein distance between the predicted and labelled phase
sequences / the longer one's length, averaged over recordings.

**Events**: a detected event matches a labelled defect interval of the same class (same-class
touching intervals merged) when their IoU is >= 0.3 or their onsets differ by <= 0.2 s; matching
is one-to-one, best IoU first. Recall = matched labelled / labelled, precision = matched detected
/ detected, onset error |t_detected - t_labelled| of the matches (median, s), position error the
same in mm along the seam (both onsets placed with the recording's own seam positions), false
alarms per minute = unmatched detected events / minutes of recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from weldfusion.datasets.labels import merge_intervals
from weldfusion.datasets.schema import TIME_EPS

IOU_THRESHOLDS = (0.10, 0.25, 0.50)
EVENT_IOU, EVENT_ONSET_S = 0.3, 0.2


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def labelled_segments(intervals) -> list[tuple[str, float, float]]:
    """(label, start, end) of labelled intervals sorted by time, touching ones of one label merged."""
    out: list[list] = []
    for iv in sorted(intervals, key=lambda r: r.start_s):
        if out and out[-1][0] == iv.label and iv.start_s <= out[-1][2] + TIME_EPS:
            out[-1][2] = max(out[-1][2], iv.end_s)
        else:
            out.append([iv.label, iv.start_s, iv.end_s])
    return [tuple(x) for x in out]


def segment_counts(pred: Sequence[tuple[str, float, float]], true: Sequence[tuple[str, float, float]],
                   k: float) -> tuple[int, int, int]:
    """(tp, fp, fn) of segmental F1 at IoU ``k`` for one recording."""
    used = np.zeros(len(true), dtype=bool)
    tp = fp = 0
    for label, s, e in pred:
        ious = np.array([_iou(s, e, ts, te) if tl == label and not used[j] else -1.0
                         for j, (tl, ts, te) in enumerate(true)])
        j = int(ious.argmax()) if len(ious) else -1
        if j >= 0 and ious[j] >= k:
            tp += 1
            used[j] = True
        else:
            fp += 1
    return tp, fp, int((~used).sum())


def edit_score(pred: Sequence[str], true: Sequence[str]) -> float:
    """1 - normalised Levenshtein distance of two label sequences (1 = same order of segments)."""
    m, n = len(pred), len(true)
    if max(m, n) == 0:
        return 1.0
    d = np.arange(n + 1, dtype=np.int64)
    for i in range(1, m + 1):
        prev, d[0] = d[0], i
        for j in range(1, n + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (pred[i - 1] != true[j - 1]))
            prev, d[j] = d[j], cur
    return 1.0 - float(d[n]) / max(m, n)


def _f1(tp: int, fp: int, fn: int) -> float | None:
    if tp + fp + fn == 0:
        return None
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class _EventTally:
    labelled: int = 0
    detected: int = 0
    matched: int = 0
    onset_s: list = field(default_factory=list)
    position_mm: list = field(default_factory=list)

    def result(self, minutes: float) -> dict:
        return {
            "recall": self.matched / self.labelled if self.labelled else None,
            "precision": self.matched / self.detected if self.detected else None,
            "n_labelled": self.labelled, "n_detected": self.detected, "n_matched": self.matched,
            "onset_error_s": {"median": float(np.median(self.onset_s)) if self.onset_s else None},
            "position_error_mm": {"median": float(np.median(self.position_mm)) if self.position_mm else None},
            "false_alarms_per_min": (self.detected - self.matched) / minutes if minutes > 0 else None,
        }


def match_events(detected, labelled: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """One-to-one (detected index, labelled index) matches of one class (rule in the module docstring)."""
    pairs = []
    for i, e in enumerate(detected):
        for j, (s, t) in enumerate(labelled):
            iou = _iou(e.start_s, e.end_s, s, t)
            if iou >= EVENT_IOU or abs(e.start_s - s) <= EVENT_ONSET_S:
                pairs.append((iou, -abs(e.start_s - s), i, j))
    used_i, used_j, out = set(), set(), []
    for _, _, i, j in sorted(pairs, reverse=True):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def weld_metrics(welds: Sequence[dict], phases: Sequence[str], defects: Sequence[str]) -> dict:
    """``{"segments": {...}, "events": {...}, "limits_events": {...}}`` over labelled welds.

    Each weld dict holds ``segments`` (predicted :class:`~.timeline.Segment` list), ``events``
    (:class:`~.timeline.Event` list, model and limits), ``labels`` (``phases``/``defects`` interval
    lists), ``duration_s`` and ``position`` (a callable seconds -> mm of that recording).
    """
    counts = {k: [0, 0, 0] for k in IOU_THRESHOLDS}
    edits = []
    tallies = {name: _EventTally() for name in defects}
    limit_tally = _EventTally()
    limit_hits = {name: [0, 0] for name in defects}  # labelled intervals of the class: matched by a band, total
    minutes = 0.0
    for w in welds:
        true_ph = labelled_segments(w["labels"].get("phases", []))
        if not true_ph:
            continue
        minutes += w["duration_s"] / 60.0
        pred_ph = [(s.phase, s.start_s, s.end_s) for s in w["segments"]]
        for k in IOU_THRESHOLDS:
            tp, fp, fn = segment_counts(pred_ph, true_ph, k)
            counts[k][0] += tp
            counts[k][1] += fp
            counts[k][2] += fn
        edits.append(edit_score([p[0] for p in pred_ph], [t[0] for t in true_ph]))
        all_truth = []
        for name in defects:
            truth = merge_intervals([(d.start_s, d.end_s) for d in w["labels"].get("defects", []) if d.label == name])
            all_truth += truth
            det = [e for e in w["events"] if e.source == "model" and e.label == name]
            tally = tallies[name]
            tally.labelled += len(truth)
            tally.detected += len(det)
            lim_found = {j for _, j in match_events([e for e in w["events"] if e.source == "limits"], truth)}
            limit_hits[name][0] += len(lim_found)
            limit_hits[name][1] += len(truth)
            for i, j in match_events(det, truth):
                tally.matched += 1
                tally.onset_s.append(abs(det[i].start_s - truth[j][0]))
                tally.position_mm.append(abs(float(w["position"](det[i].start_s)) - float(w["position"](truth[j][0]))))
        # limits events against any labelled defect: what a band monitor would flag
        lim = [e for e in w["events"] if e.source == "limits"]
        truth_any = merge_intervals(all_truth)
        limit_tally.labelled += len(truth_any)
        limit_tally.detected += len(lim)
        for i, j in match_events(lim, truth_any):
            limit_tally.matched += 1
            limit_tally.onset_s.append(abs(lim[i].start_s - truth_any[j][0]))
    per_class = {name: t.result(minutes) for name, t in tallies.items()}
    total = _EventTally(sum(t.labelled for t in tallies.values()), sum(t.detected for t in tallies.values()),
                        sum(t.matched for t in tallies.values()),
                        [x for t in tallies.values() for x in t.onset_s],
                        [x for t in tallies.values() for x in t.position_mm])
    segments = {f"f1@{k:.2f}": _f1(*counts[k]) for k in IOU_THRESHOLDS}
    segments["edit"] = float(np.mean(edits)) if edits else None
    return {"segments": segments, "events": {**total.result(minutes), "per_class": per_class},
            "limits_events": {**limit_tally.result(minutes),
                              "per_class_recall": {n: (a / b if b else None) for n, (a, b) in limit_hits.items()}},
            "minutes": minutes}
