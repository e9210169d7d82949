"""The laser's metal-vapour plume: one fluctuation shared by every sensor that sees it.

The plume above a keyhole flickers at 50-500 Hz (correlation time ~4 ms). The high-speed camera
sees it as a bright cloud above the spot (``sensors/video/simulate.py``) and the weld monitor's
plasma photodiode as its emission (``sensors/laser_monitor/simulate.py``) — the same flicker, so
the two sensors agree about it the way a real plume makes them agree.
"""

from __future__ import annotations

import numpy as np
from weldfusion.sensors.scenario import Scenario

#: Rate (Hz) at which the plume's flicker is drawn, whatever the sensors' rates.
PLUME_RATE = 2000.0
#: Correlation time of the flicker (s).
PLUME_TAU_S = 0.004


def plume_flicker(scn: Scenario) -> np.ndarray:
    """Zero-mean, unit-variance plume fluctuation (n,) at :data:`PLUME_RATE` over the run."""
    rng = scn.rng("plume")
    z = rng.standard_normal(round(scn.duration_s * PLUME_RATE))
    kern = np.exp(-np.arange(int(8 * PLUME_TAU_S * PLUME_RATE)) / (PLUME_TAU_S * PLUME_RATE))
    fine = np.convolve(z, kern / np.linalg.norm(kern), mode="same")
    return fine / max(float(fine.std()), 1e-9)
