"""Derived electrical channels, computed at the native rate before resampling (the sensor's
derived-channel declaration, read by :mod:`weldfusion.datasets.assembly`).

The window's electrical tensor has 7 channels (:data:`WINDOW_CHANNELS`): the 4 stored ones
(current A, voltage V, wire_feed m/min, travel_speed mm/s) and

- ``power`` (W) = U * I per sample,
- ``heat_input`` (kJ/mm) = eta * U * I / v / 1000 per sample (``sensors/electrical/physics.py``),
- ``short_circuit`` (0/1 per native sample: voltage below a threshold while at least
  :data:`SHORT_CIRCUIT_MIN_A` flows, so an idle source at 0 V and 0 A is not a short; the window
  holds the share of each window sample's bin in short circuit).

The window parameters (``params`` of a batch, :data:`weldfusion.sensors.electrical.PARAMS`) are
means over the window's valid samples of current, voltage, travel_speed and heat_input.
"""

from __future__ import annotations

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.electrical import CHANNEL_UNITS, CHANNELS, PARAMS
from weldfusion.sensors.electrical.physics import heat_input

DERIVED_CHANNELS: tuple[str, ...] = ("power", "heat_input", "short_circuit")
DERIVED_UNITS: tuple[str, ...] = ("W", "kJ/mm", "1")
WINDOW_CHANNELS: tuple[str, ...] = (*CHANNELS, *DERIVED_CHANNELS)
WINDOW_UNITS: tuple[str, ...] = (*CHANNEL_UNITS, *DERIVED_UNITS)
SHORT_CIRCUIT = WINDOW_CHANNELS.index("short_circuit")
#: Window channels delivered as the mean of each window sample's bin (a share, not a waveform).
BIN_MEAN_CHANNELS: tuple[str, ...] = ("short_circuit",)
#: A sample is only in short circuit when at least this current (A) flows through the wire.
SHORT_CIRCUIT_MIN_A = 20.0
PARAM_INDEX: tuple[int, ...] = tuple(WINDOW_CHANNELS.index(p) for p in PARAMS)


def stored_channel_order(channel_names: tuple[str, ...] | list[str], where: str) -> list[int]:
    """Column of each of :data:`CHANNELS` in a stored electrical stream; ``ValueError`` if one is missing."""
    names = list(channel_names)
    missing = [c for c in CHANNELS if c not in names]
    if missing:
        raise InvalidInput(
            f"{where}: electrical stream lacks channel(s) {', '.join(missing)} (has: {', '.join(names)})"
        )
    return [names.index(c) for c in CHANNELS]


def derive(raw: np.ndarray, process: str, window_cfg) -> np.ndarray:
    """Stored channels -> window channels at the native rate.

    Args:
        raw: (n, 4) current A, voltage V, wire_feed m/min, travel_speed mm/s (:data:`CHANNELS` order).
        process: welding process (sets the arc efficiency of the heat input).
        window_cfg: the :class:`~weldfusion.sensors.electrical.window.ElectricalWindow`; its
            ``short_circuit_v`` is the voltage (V) below which a sample is in short circuit (when at
            least :data:`SHORT_CIRCUIT_MIN_A` flows).
    Returns:
        (n, 7) float64 in :data:`WINDOW_CHANNELS` order.
    """
    raw = np.asarray(raw, dtype=np.float64)
    current, voltage, travel = raw[:, 0], raw[:, 1], raw[:, 3]
    out = np.empty((raw.shape[0], len(WINDOW_CHANNELS)), dtype=np.float64)
    out[:, :4] = raw
    out[:, 4] = voltage * current
    out[:, 5] = heat_input(voltage, current, travel, process)
    out[:, 6] = (voltage < window_cfg.short_circuit_v) & (current >= SHORT_CIRCUIT_MIN_A)
    return out


def window_params(window: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Window means of current, voltage, travel_speed, heat_input.

    Args:
        window: (7, L) un-normalised window channels.
        valid: (L,) bool, samples outside gaps; at least one must be True.
    Returns:
        (4,) float64 in :data:`weldfusion.sensors.electrical.PARAMS` order.
    """
    return window[list(PARAM_INDEX)][:, valid].mean(axis=1)
