"""Clock-sync feature of the process data: arc power |U * I| per sample."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from weldfusion.sensors.raw_source import IngestError


def activity(block: np.ndarray, channel_names: Sequence[str], where: str) -> np.ndarray:
    """Per-sample arc power (k,) float64 of a (k, C) block with channels ``channel_names``."""
    names = list(channel_names)
    if "current" not in names or "voltage" not in names:
        raise IngestError(f"{where}: sync needs 'current' and 'voltage' channels")
    b = block.astype(np.float64)
    return np.abs(b[:, names.index("current")] * b[:, names.index("voltage")])
