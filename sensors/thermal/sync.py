"""Clock-sync feature of the IR camera: mean temperature per frame. Temperature lags the arc
(thermal inertia, plus glare at once), so it is fitted as the lagged response of the other
stream's level instead of being correlated with it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: What of the other stream this sensor follows: a non-negative mix of first-order lags of its level.
FOLLOWS = "lagged level"


def activity(block: np.ndarray, channel_names: Sequence[str], where: str) -> np.ndarray:
    """Mean temperature (k,) float64 of a (k, H, W) block of frames."""
    return block.reshape(len(block), -1).astype(np.float64).mean(axis=1)
