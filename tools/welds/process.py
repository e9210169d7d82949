"""A recording's process data on a regular time base: seam position, heat input, arc on.

Seam position (mm from arc ignition) integrates the travel-speed channel of the process data from
arc ignition (``sensors/electrical/seam.py``, the rule also used for labels given in mm). Without
a travel-speed channel the position is ``nominal speed x time since ignition`` until the arc goes
out (both from the current when there is one, else the first start / last end of the labelled
non-idle phases, else the recording's span), and :attr:`ProcessTrace.position_source` says which
was used. Heat input (kJ/mm) is eta U I / v per
sample (``sensors/electrical/physics.py``).

A friction stir weld has no arc: its process data are the FSW machine's (``fsw_machine``); the
trace then carries ``torque``, ``axial_force``, ``spindle_speed``, ``plunge_depth``, ``travel_speed``
(the traverse speed), the mechanical ``power`` = torque x omega and the heat input from it, and
"arc on" / ignition mean the tool is in the plate (plunge depth above :data:`TOOL_IN_PLATE_MM`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from weldfusion.datasets.reader import Recording
from weldfusion.sensors.electrical.physics import heat_input, heat_input_from_power, mechanical_power
from weldfusion.sensors.electrical.seam import ignition_time, seam_position

#: Samples per second of the trace (the process data are block-averaged to it).
TRACE_RATE = 200.0
#: FSW: the tool is in the plate (the weld's "arc on") below this plunge depth (mm).
TOOL_IN_PLATE_MM = 0.05
#: Channels of an FSW machine's trace (besides travel_speed, power and heat_input).
FSW_TRACE = ("torque", "axial_force", "spindle_speed", "plunge_depth")


@dataclass
class ProcessTrace:
    """Process data of one recording at :data:`TRACE_RATE` (arrays (N,) on the recording clock).

    ``current``/``voltage``/``wire_feed``/``travel_speed``/``power``/``heat_input`` are NaN where the
    recording has no process data; ``current_min``/``current_max`` are the per-bin envelopes.
    """

    t: np.ndarray
    position_mm: np.ndarray
    position_source: str  # "travel_speed channel" | "nominal <v> mm/s (recipe|recording)"
    ignition_s: float | None
    channels: dict[str, np.ndarray]
    arc_on: np.ndarray  # (N,) bool
    sensor: str = "electrical"  # the process-data sensor the channels come from

    def at(self, times: np.ndarray, key: str = "position_mm") -> np.ndarray:
        """``key`` (``position_mm`` or a channel) interpolated at ``times`` (s)."""
        values = self.position_mm if key == "position_mm" else self.channels[key]
        return np.interp(np.asarray(times, dtype=np.float64), self.t, values)

    def mean_over(self, key: str, t0: float, t1: float, arc_only: bool = True) -> float:
        """Mean of channel ``key`` over [t0, t1) (arc-on samples only by default); NaN when none."""
        sel = (self.t >= t0) & (self.t < t1)
        if arc_only:
            sel &= self.arc_on
        values = self.channels[key][sel]
        values = values[np.isfinite(values)]
        return float(values.mean()) if len(values) else float("nan")


def _bin(times: np.ndarray, values: np.ndarray, grid: np.ndarray, how: str) -> np.ndarray:
    """Reduce native samples into the bins [grid[i], grid[i] + 1/TRACE_RATE); empty bins interpolated."""
    idx = np.floor((times - grid[0]) * TRACE_RATE).astype(np.int64)
    ok = (idx >= 0) & (idx < len(grid))
    idx, v = idx[ok], values[ok]
    out = np.full(len(grid), np.nan)
    if len(v) == 0:
        return out
    if how == "mean":
        s = np.bincount(idx, v, minlength=len(grid))
        n = np.bincount(idx, minlength=len(grid))
        out[n > 0] = s[n > 0] / n[n > 0]
    else:
        order = np.argsort(idx, kind="stable")
        idx, v = idx[order], v[order]
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        red = np.maximum.reduceat if how == "max" else np.minimum.reduceat
        out[idx[starts]] = red(v, starts)
    have = np.isfinite(out)
    if have.any() and not have.all():
        out[~have] = np.interp(np.flatnonzero(~have), np.flatnonzero(have), out[have])
    return out


def process_trace(rec: Recording, nominal_speed_mm_s: float, arc_on_a: float = 20.0) -> ProcessTrace:
    """The :class:`ProcessTrace` of an open recording (reads its process data once)."""
    t_start, t_end = rec.span
    n = max(1, int(np.ceil((t_end - t_start) * TRACE_RATE)))
    grid = t_start + np.arange(n) / TRACE_RATE
    names = ("current", "voltage", "wire_feed", "travel_speed", "power", "heat_input", "current_min", "current_max")
    channels = {k: np.full(n, np.nan) for k in names}
    if "electrical" not in rec.streams and "fsw_machine" in rec.streams:
        return _fsw_trace(rec, grid, channels, nominal_speed_mm_s)
    ignition = None
    source = None
    info = rec.streams.get("electrical")
    data, times = _read_finite(rec, "electrical")
    if info is not None and info.n > 0 and len(times) > 1:
        cols = {c: i for i, c in enumerate(info.channel_names)}
        for c in ("current", "voltage", "wire_feed", "travel_speed"):
            if c in cols:
                channels[c] = _bin(times, data[:, cols[c]], grid, "mean")
        if "current" in cols:
            cur = data[:, cols["current"]]
            channels["current_min"] = _bin(times, cur, grid, "min")
            channels["current_max"] = _bin(times, cur, grid, "max")
            ignition = ignition_time(times, cur, arc_on_a)
            if "voltage" in cols:
                u = data[:, cols["voltage"]]
                channels["power"] = _bin(times, u * cur, grid, "mean")
                if "travel_speed" in cols:
                    hi = heat_input(u, cur, data[:, cols["travel_speed"]], str(rec.meta.get("process", "GMAW")))
                    channels["heat_input"] = _bin(times, hi, grid, "mean")
        if "travel_speed" in cols:
            position = np.interp(grid, times, seam_position(times, data[:, cols["travel_speed"]], ignition))
            source = "travel_speed channel"
    arc_on = np.nan_to_num(channels["current"], nan=0.0) >= arc_on_a
    if source is None:
        return _nominal_trace(rec, grid, channels, arc_on, ignition, nominal_speed_mm_s)
    return ProcessTrace(grid, position, source, ignition, channels, arc_on)


def _read_finite(rec: Recording, name: str) -> tuple[np.ndarray, np.ndarray]:
    """All samples of stream ``name`` as (n, C) float64 and their times, NaN/inf samples left out
    (missing samples, as in the windows); empty when the recording has no such stream."""
    info = rec.streams.get(name)
    if info is None or info.n == 0:
        return np.zeros((0, 0)), np.zeros(0)
    data, times = rec.read(name, info.t_start, info.t_end + 1.0)
    data = np.asarray(data, dtype=np.float64).reshape(len(data), -1)
    finite = np.isfinite(data).all(axis=1)
    return data[finite], times[finite]


def _nominal_trace(rec: Recording, grid: np.ndarray, channels: dict, arc_on: np.ndarray, ignition: float | None,
                   nominal_speed_mm_s: float, sensor: str = "electrical") -> ProcessTrace:
    """The trace with seam positions from a nominal travel speed (no travel-speed channel)."""
    t_start, t_end = rec.span
    attr = rec.meta.get("travel_speed_mm_s")
    speed = float(attr) if attr is not None else float(nominal_speed_mm_s)
    welding = [p for p in rec.phases if p.label != "idle"]
    if ignition is None:
        ignition = float(min(p.start_s for p in welding)) if welding else float(t_start)
    on = np.flatnonzero(arc_on)
    if len(on):  # the torch stops when the arc goes out
        arc_off = float(grid[on[-1]] + 1.0 / TRACE_RATE)
    else:
        arc_off = float(max(p.end_s for p in welding)) if welding else float(t_end)
    position = (np.clip(grid, ignition, arc_off) - ignition) * speed
    source = f"nominal {speed:g} mm/s ({'recording' if attr is not None else 'recipe'})"
    return ProcessTrace(grid, position, source, ignition, channels, arc_on, sensor)


def _fsw_trace(rec: Recording, grid: np.ndarray, channels: dict, nominal_speed_mm_s: float) -> ProcessTrace:
    """The trace of a friction stir weld from its FSW machine data (see module docstring)."""
    channels.update({k: np.full(grid.size, np.nan) for k in FSW_TRACE})
    data, times = _read_finite(rec, "fsw_machine")
    cols = {c: i for i, c in enumerate(rec.streams["fsw_machine"].channel_names)}
    if len(times) < 2 or "plunge_depth" not in cols:
        return _nominal_trace(rec, grid, channels, np.zeros(grid.size, dtype=bool), None, nominal_speed_mm_s,
                              "fsw_machine")
    for c in FSW_TRACE:
        if c in cols:
            channels[c] = _bin(times, data[:, cols[c]], grid, "mean")
    depth = data[:, cols["plunge_depth"]]
    ignition = ignition_time(times, depth, TOOL_IN_PLATE_MM)
    arc_on = np.nan_to_num(channels["plunge_depth"], nan=0.0) >= TOOL_IN_PLATE_MM
    if "torque" in cols and "spindle_speed" in cols:
        p = mechanical_power(data[:, cols["torque"]], data[:, cols["spindle_speed"]])
        channels["power"] = _bin(times, p, grid, "mean")
        if "traverse_speed" in cols:
            hi = heat_input_from_power(p, data[:, cols["traverse_speed"]], "FSW")
            channels["heat_input"] = _bin(times, hi, grid, "mean")
    if "traverse_speed" not in cols:
        return _nominal_trace(rec, grid, channels, arc_on, ignition, nominal_speed_mm_s, "fsw_machine")
    v = data[:, cols["traverse_speed"]]
    channels["travel_speed"] = _bin(times, v, grid, "mean")
    position = np.interp(grid, times, seam_position(times, v, ignition))
    return ProcessTrace(grid, position, "traverse_speed channel", ignition, channels, arc_on, "fsw_machine")
