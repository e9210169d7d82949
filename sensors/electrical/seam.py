"""Position along the seam from the process data: the one rule (used by ``predict`` and by ingest
of labels given in mm).

The torch position is the travel speed (mm/s) integrated over time (trapezoid rule at the samples'
own times) from arc ignition — the first sample with current >= ``arc_on_a`` — and 0 before it.
"""

from __future__ import annotations

import numpy as np

#: Current (A) from which the arc counts as burning.
ARC_ON_A = 20.0


def ignition_time(times: np.ndarray, current: np.ndarray, arc_on_a: float = ARC_ON_A) -> float | None:
    """Time (s) of the first sample with ``current >= arc_on_a``; None when the arc never burns."""
    on = np.flatnonzero(np.asarray(current) >= arc_on_a)
    return float(times[on[0]]) if len(on) else None


def seam_position(times: np.ndarray, travel_speed: np.ndarray, ignition_s: float | None) -> np.ndarray:
    """Position (mm) at every sample time (N,) from the travel speed (N,) in mm/s."""
    times = np.asarray(times, dtype=np.float64)
    v = np.asarray(travel_speed, dtype=np.float64)
    dist = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(times))])
    if ignition_s is not None:
        dist = dist - np.interp(ignition_s, times, dist)
    return np.maximum(dist, 0.0)


def times_at_positions(times: np.ndarray, position_mm: np.ndarray, mm: np.ndarray) -> np.ndarray:
    """The first time (s) the torch reaches each position in ``mm`` (position must not decrease)."""
    pos = np.maximum.accumulate(np.asarray(position_mm, dtype=np.float64))
    idx = np.searchsorted(pos, np.asarray(mm, dtype=np.float64), side="left")
    idx = np.clip(idx, 1, len(pos) - 1)
    p0, p1 = pos[idx - 1], pos[idx]
    t0, t1 = times[idx - 1], times[idx]
    frac = np.where(p1 > p0, (np.asarray(mm) - p0) / np.where(p1 > p0, p1 - p0, 1.0), 0.0)
    return t0 + np.clip(frac, 0.0, 1.0) * (t1 - t0)
