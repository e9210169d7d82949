"""Derived FSW machine channels, computed at the native rate before resampling (read by
:mod:`weldfusion.datasets.assembly`, like the electrical sensor's).

The window's tensor has 7 channels (:data:`WINDOW_CHANNELS`): the 5 stored ones and

- ``power`` (W) = torque x 2 pi n / 60, the mechanical power the spindle puts into the weld,
- ``heat_input`` (kJ/mm) = eta x power / traverse speed / 1000 (``sensors/electrical/physics.py``:
  eta of FSW; 0 while the tool stands — plunge, dwell, retract — as for the arc processes).

The window parameters (``params`` of a batch, :data:`weldfusion.sensors.electrical.PARAMS`, the
inputs of MS-STAN's knowledge guidance) are those of the arc's DAQ: current and voltage 0 (there is
no arc), the window means of the traverse speed and of the heat input.
"""

from __future__ import annotations

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.electrical import PARAMS
from weldfusion.sensors.electrical.physics import heat_input_from_power, mechanical_power
from weldfusion.sensors.fsw_machine import CHANNEL_UNITS, CHANNELS

DERIVED_CHANNELS: tuple[str, ...] = ("power", "heat_input")
DERIVED_UNITS: tuple[str, ...] = ("W", "kJ/mm")
WINDOW_CHANNELS: tuple[str, ...] = (*CHANNELS, *DERIVED_CHANNELS)
WINDOW_UNITS: tuple[str, ...] = (*CHANNEL_UNITS, *DERIVED_UNITS)
BIN_MEAN_CHANNELS: tuple[str, ...] = ()


def stored_channel_order(channel_names: tuple[str, ...] | list[str], where: str) -> list[int]:
    """Column of each of :data:`CHANNELS` in a stored FSW machine stream; one-line error if one is missing."""
    names = list(channel_names)
    missing = [c for c in CHANNELS if c not in names]
    if missing:
        raise InvalidInput(f"{where}: FSW machine stream lacks channel(s) {', '.join(missing)} (has: {', '.join(names)})")
    return [names.index(c) for c in CHANNELS]


def derive(raw: np.ndarray, process: str, window_cfg) -> np.ndarray:
    """Stored channels (n, 5) -> window channels (n, 7) float64 in :data:`WINDOW_CHANNELS` order."""
    raw = np.asarray(raw, dtype=np.float64)
    out = np.empty((raw.shape[0], len(WINDOW_CHANNELS)), dtype=np.float64)
    out[:, :5] = raw
    out[:, 5] = mechanical_power(raw[:, 0], raw[:, 2])
    out[:, 6] = heat_input_from_power(out[:, 5], raw[:, 3], "FSW")
    return out


def window_params(window: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(4,) float64 in :data:`~weldfusion.sensors.electrical.PARAMS` order (current A, voltage V,
    travel_speed mm/s, heat_input kJ/mm) from the un-normalised (7, L) window and its (L,) valid mask."""
    means = {"current": 0.0, "voltage": 0.0,
             "travel_speed": float(window[WINDOW_CHANNELS.index("traverse_speed"), valid].mean()),
             "heat_input": float(window[WINDOW_CHANNELS.index("heat_input"), valid].mean())}
    return np.array([means[p] for p in PARAMS], dtype=np.float64)
