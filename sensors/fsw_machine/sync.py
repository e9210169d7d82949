"""Clock-sync feature of FSW machine data: the spindle power ``M * omega`` per sample.

There is no arc to ignite; the shared events of a friction stir weld are the tool's: it touches the
plate and the torque rises (plunge), heats the plate through the dwell, starts and stops the
traverse, and leaves (retract). The spindle power carries all of them — the IR camera follows it
with thermal inertia, the microphone hears its friction — whereas the generic signal energy would be
the axial force's (the largest numbers), which steps at the plunge only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from weldfusion.sensors.electrical.physics import mechanical_power
from weldfusion.sensors.raw_source import IngestError


def activity(block: np.ndarray, channel_names: Sequence[str], where: str) -> np.ndarray:
    """Per-sample spindle power (k,) float64 in W of a (k, C) block with channels ``channel_names``."""
    names = list(channel_names)
    if "torque" not in names or "spindle_speed" not in names:
        raise IngestError(f"{where}: sync needs 'torque' and 'spindle_speed' channels")
    b = block.astype(np.float64)
    return np.abs(mechanical_power(b[:, names.index("torque")], b[:, names.index("spindle_speed")]))
