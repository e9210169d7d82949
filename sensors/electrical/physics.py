"""Process physics shared by the whole project: efficiency table, arc power, heat input.

This is the one place the process efficiencies live; the simulator, the windowed dataset (derived
``power``/``heat_input`` channels) and the models import them from here. Numpy only, import-safe.

Heat input (EN 1011-1): ``HI [kJ/mm] = eta * U [V] * I [A] / v [mm/s] / 1000`` with the travel
speed clipped at :data:`MIN_TRAVEL_MM_S` so that a stationary torch gives a finite number.
"""

from __future__ import annotations

import numpy as np
from weldfusion.recipes.errors import InvalidInput

#: Thermal (process) efficiency eta by process: share of the electrical (or beam) power that enters
#: the work piece. GMAW 0.8, TIG 0.6, laser 0.7 (absorbed share of the beam power), FSW 0.9.
PROCESS_EFFICIENCY: dict[str, float] = {"GMAW": 0.8, "TIG": 0.6, "laser": 0.7, "FSW": 0.9}

#: Travel speeds below this (mm/s) are clipped in the heat-input formula.
MIN_TRAVEL_MM_S = 1.0


def process_efficiency(process: str) -> float:
    """eta of ``process``; ``ValueError`` naming the known processes otherwise."""
    try:
        return PROCESS_EFFICIENCY[process]
    except KeyError:
        raise InvalidInput(
            f"unknown process {process!r}; known: {', '.join(PROCESS_EFFICIENCY)}"
        ) from None


def power(voltage, current) -> np.ndarray:
    """Electrical power ``U * I`` in W (same shape as the broadcast inputs, float64)."""
    return np.asarray(voltage, dtype=np.float64) * np.asarray(current, dtype=np.float64)


def heat_input(voltage, current, travel_speed, process: str) -> np.ndarray:
    """Heat input in kJ/mm: ``eta * U * I / max(v, 1 mm/s) / 1000``.

    Args:
        voltage: arc voltage U in V (scalar or array).
        current: welding current I in A.
        travel_speed: travel speed v in mm/s (clipped at :data:`MIN_TRAVEL_MM_S`).
        process: key of :data:`PROCESS_EFFICIENCY`.
    Returns:
        float64 array of the broadcast shape.
    """
    eta = process_efficiency(process)
    v = np.maximum(np.asarray(travel_speed, dtype=np.float64), MIN_TRAVEL_MM_S)
    return eta * power(voltage, current) / v / 1000.0
