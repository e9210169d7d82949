"""Two rules every process's scenario shares: a smooth 0 -> 1 step and a phase plan laid end to end."""

from __future__ import annotations

import numpy as np
from weldfusion.recipes.taxonomy import LabelInterval


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, ``3x^2 - 2x^3`` between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def contiguous_intervals(plan: list[tuple[str, float]], duration: float) -> list[LabelInterval]:
    """``[(label, seconds), ...]`` laid end to end from 0; the last one ends at ``duration``."""
    out, t = [], 0.0
    for i, (label, dur) in enumerate(plan):
        end = duration if i == len(plan) - 1 else t + dur
        out.append(LabelInterval(round(t, 6), round(end, 6), label))
        t = end
    return out
