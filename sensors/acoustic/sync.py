"""Clock-sync feature of sound: energy per sample, binned as RMS; arc sound follows the edges of
arc power (p ~ d(U I)/dt), so its level is also compared with the other stream's edges."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: How the per-sample activity is binned onto the envelope grid: root of the mean energy.
BINNED = "rms"
#: What of the other stream this sensor's level follows: its edges (``edge``), not its level.
FOLLOWS = "edge"


def activity(block: np.ndarray, channel_names: Sequence[str], where: str) -> np.ndarray:
    """Sound energy (k,) float64 of a (k,) or (k, C) block, summed over channels."""
    b = block.astype(np.float64).reshape(len(block), -1)
    return (b * b).sum(axis=1)
