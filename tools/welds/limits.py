"""Classic weld monitoring: tolerance bands on the process data, violations as events.

For every band of the recipe's ``limits:`` section (current, voltage, wire feed, travel speed,
heat input, power) the channel is compared, while the arc burns (less the start and end ramps of
``ignore_start_s`` / ``ignore_end_s``), with ``nominal ± tolerance_pct``
(nominal ``null``: the weld's own median over arc-on samples) and/or absolute ``low``/``high``. A
run of out-of-band samples lasting at least ``min_duration_s`` is one event (``source=limits``,
label ``<channel>_high`` or ``<channel>_low``); the probability columns are empty, ``modalities``
names the process-data sensor. A friction stir weld (FSW machine data) is judged over its
traverse only — the tool moving at >= 2 mm/s, less the same start and end margins — since the
plunge and the dwell (a cold tool taking its highest torque and force) are not the weld.
"""

from __future__ import annotations

import numpy as np
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.recipes.weld import LimitsConfig
from weldfusion.sensors.electrical.physics import MIN_TRAVEL_MM_S
from weldfusion.tools.welds.process import TRACE_RATE, ProcessTrace
from weldfusion.tools.welds.timeline import Event


def band_limits(values: np.ndarray, arc_on: np.ndarray, band) -> tuple[float, float]:
    """(low, high) of one band on a channel."""
    lo, hi = -np.inf, np.inf
    if band.tolerance_pct is not None:
        on = values[arc_on & np.isfinite(values)]
        nominal = band.nominal if band.nominal is not None else (float(np.median(on)) if len(on) else np.nan)
        if np.isfinite(nominal):
            lo, hi = nominal * (1 - band.tolerance_pct / 100), nominal * (1 + band.tolerance_pct / 100)
            lo, hi = min(lo, hi), max(lo, hi)
    if band.low is not None:
        lo = max(lo, band.low)
    if band.high is not None:
        hi = min(hi, band.high)
    return lo, hi


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs of True."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def limit_events(trace: ProcessTrace, cfg: LimitsConfig, sensor: str = "electrical") -> list[Event]:
    """Violations of the bands of ``cfg`` in ``trace`` (empty without process data or when disabled)."""
    if not cfg.enabled:
        return []
    welding = trace.arc_on
    if trace.sensor == "fsw_machine":  # FSW: the weld proper is the traverse (plunge and dwell heat a spot)
        v = np.nan_to_num(trace.channels["travel_speed"], nan=0.0)
        welding = trace.arc_on & (v >= MIN_TRAVEL_MM_S)
    judged = welding.copy()
    on = np.flatnonzero(welding)
    if len(on):
        t_on, t_off = trace.t[on[0]], trace.t[on[-1]]
        judged &= (trace.t >= t_on + cfg.ignore_start_s) & (trace.t <= t_off - cfg.ignore_end_s)
    out = []
    for channel, band in cfg.bands.items():
        values = trace.channels.get(channel)
        if values is None or not np.isfinite(values).any():
            continue
        lo, hi = band_limits(values, welding, band)
        for side, bad in (("high", values > hi), ("low", values < lo)):
            for a, b in _runs(bad & judged):
                if (b - a) / TRACE_RATE + TIME_EPS < band.min_duration_s:
                    continue
                t0, t1 = float(trace.t[a]), float(trace.t[b - 1] + 1 / TRACE_RATE)
                out.append(Event(f"{channel}_{side}", "limits", t0, t1, modalities={sensor: 1.0},
                                 sensors_present=(sensor,)))
    return sorted(out, key=lambda e: (e.start_s, e.label))
