"""Process physics shared by the whole project: efficiency table, arc and spindle power, heat input.

This is the one place the process efficiencies live; the simulator, the windowed dataset (derived
``power``/``heat_input`` channels) and the models import them from here. Numpy only, import-safe.

Heat input (EN 1011-1): ``HI [kJ/mm] = eta * U [V] * I [A] / v [mm/s] / 1000``, defined only while
the torch moves (``v >= MIN_TRAVEL_MM_S``); where it stands, starts or stops, the heat input is
not defined and reads 0 (a stationary torch has no energy per unit length, and the start/end
spikes of ``P / v`` as v -> 0 would otherwise dominate the window means the models use).
"""

from __future__ import annotations

import numpy as np
from weldfusion.recipes.errors import InvalidInput

#: Thermal (process) efficiency eta by process: share of the electrical (or beam) power that enters
#: the work piece. GMAW 0.8, TIG 0.6, laser 0.7 (absorbed share of the beam power), FSW 0.9.
PROCESS_EFFICIENCY: dict[str, float] = {"GMAW": 0.8, "TIG": 0.6, "laser": 0.7, "FSW": 0.9}

#: The torch moves (heat input defined) at travel speeds of at least this (mm/s).
MIN_TRAVEL_MM_S = 2.0


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


def mechanical_power(torque_nm, spindle_rpm) -> np.ndarray:
    """Spindle power ``M * omega`` in W from torque (N m) and speed (1/min): an FSW tool's process power."""
    return np.asarray(torque_nm, dtype=np.float64) * np.asarray(spindle_rpm, dtype=np.float64) * (2.0 * np.pi / 60.0)


def heat_input(voltage, current, travel_speed, process: str) -> np.ndarray:
    """Heat input in kJ/mm: ``eta * U * I / v / 1000`` where ``v >= MIN_TRAVEL_MM_S``, else 0.

    Args:
        voltage: arc voltage U in V (scalar or array).
        current: welding current I in A.
        travel_speed: travel speed v in mm/s (below :data:`MIN_TRAVEL_MM_S`: heat input 0).
        process: key of :data:`PROCESS_EFFICIENCY`.
    Returns:
        float64 array of the broadcast shape.
    """
    return heat_input_from_power(power(voltage, current), travel_speed, process)


def heat_input_from_power(process_power, travel_speed, process: str) -> np.ndarray:
    """Heat input in kJ/mm from the process power (W: arc ``U * I``, beam power, FSW spindle ``M * omega``):
    ``eta * P / v / 1000`` where ``v >= MIN_TRAVEL_MM_S``, else 0 (float64, broadcast shape)."""
    eta = process_efficiency(process)
    v = np.asarray(travel_speed, dtype=np.float64)
    moving = v >= MIN_TRAVEL_MM_S
    return np.where(moving, eta * np.asarray(process_power, dtype=np.float64) / np.where(moving, v, 1.0) / 1000.0, 0.0)
