"""The window label rules — the one definition used by the dataset, the probe, the synth summary
and the live engine.

- **Window starts**: ``span[0] + i * hop_s`` for every window of ``window_s`` that fits in the
  recording's span — earliest start to latest end over its streams and label intervals
  (:func:`recording_span`, :func:`window_starts`).
- **Phase**: the phase with the largest overlap with the window (ties: taxonomy order);
  :data:`IGNORE_PHASE` when no phase interval overlaps (:func:`phase_labels`).
- **Defects** (multi-hot): defect ``d`` is positive when one of its intervals — overlapping or
  touching intervals of the same class merged first — overlaps the window by at least
  ``threshold * min(window_s, interval length)`` (a short defect lying mostly inside a window
  counts), or all its intervals together cover at least ``threshold * window_s``
  (:func:`defect_labels`; ``threshold`` = ``data.defect_overlap_threshold``, 0.3 by default).

Times are seconds on the recording clock, compared with :data:`~weldfusion.datasets.schema.TIME_EPS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.recipes.taxonomy import LabelInterval

#: ``phase`` of a window that no phase interval overlaps (``torch.nn.CrossEntropyLoss``'s default ignore_index).
IGNORE_PHASE = -100


def merge_intervals(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted union of ``[start, end)`` intervals; overlapping or touching ones become one."""
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def recording_span(streams: Iterable, labels: Iterable[LabelInterval]) -> tuple[float, float]:
    """(earliest start, latest end) over streams (objects with ``t_start``/``t_end``) and label
    intervals; (0, 0) when there are neither."""
    starts = [s.t_start for s in streams]
    ends = [s.t_end for s in streams]
    for row in labels:
        starts.append(row.start_s)
        ends.append(row.end_s)
    return (min(starts), max(ends)) if starts else (0.0, 0.0)


def window_starts(span: tuple[float, float], window_s: float, hop_s: float) -> np.ndarray:
    """Start times (N,) of the windows that fit in ``span``: ``span[0] + i * hop_s``."""
    length = span[1] - span[0]
    if length + TIME_EPS < window_s:
        return np.zeros(0)
    n = int(np.floor((length - window_s) / hop_s + 1e-6)) + 1
    return np.round(span[0] + np.arange(n, dtype=np.float64) * hop_s, 9)  # 0.6, not 0.6000000000000001


def phase_labels(
    phases: Sequence[LabelInterval], t0: np.ndarray, window_s: float, names: Sequence[str]
) -> np.ndarray:
    """Majority phase (N,) int64 of windows starting at ``t0``; :data:`IGNORE_PHASE` when none overlaps."""
    overlap = np.zeros((len(t0), len(names)))
    for p in phases:
        k = names.index(p.label)
        overlap[:, k] += np.clip(np.minimum(t0 + window_s, p.end_s) - np.maximum(t0, p.start_s), 0.0, None)
    out = overlap.argmax(axis=1)  # first maximum -> ties go to taxonomy order
    out[overlap.max(axis=1, initial=0.0) <= TIME_EPS] = IGNORE_PHASE
    return out.astype(np.int64)


def defect_labels(
    defects: Sequence[LabelInterval], t0: np.ndarray, window_s: float, names: Sequence[str], threshold: float
) -> np.ndarray:
    """Multi-hot (N, D) float32 of windows starting at ``t0`` (rule in the module docstring)."""
    out = np.zeros((len(t0), len(names)), dtype=np.float32)
    by_label: dict[str, list[tuple[float, float]]] = {}
    for d in defects:
        by_label.setdefault(d.label, []).append((d.start_s, d.end_s))
    for label, intervals in by_label.items():
        k = names.index(label)
        total = np.zeros(len(t0))
        hit = np.zeros(len(t0), dtype=bool)
        for a, b in merge_intervals(intervals):
            ov = np.clip(np.minimum(t0 + window_s, b) - np.maximum(t0, a), 0.0, None)
            total += ov
            hit |= (ov > 0) & (ov >= threshold * min(window_s, b - a) - TIME_EPS)
        hit |= (total > 0) & (total >= threshold * window_s - TIME_EPS)
        out[hit, k] = 1.0
    return out
