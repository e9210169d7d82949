"""Bounds every stream obeys, whatever its sensor: sample rates, clock range, span, frame size.

Defined once here; the manifest (``sensors/stream_spec.py``) refuses values outside them before
anything is read, and the validator (``datasets/validate.py``) refuses recordings that break them.
"""

from __future__ import annotations

import math

#: Sample rates outside [MIN_RATE_HZ, MAX_RATE_HZ] are refused (100 MHz is above any AE digitiser).
MIN_RATE_HZ = 1e-2
MAX_RATE_HZ = 1e8
#: Times on the recording clock must lie within +-MAX_CLOCK_S (float64 then resolves < 0.25 us).
MAX_CLOCK_S = 1e9
#: All streams of one recording together may span at most this long (one day): streams whose
#: clocks are far apart are not one recording, and windowing them would never end.
MAX_SPAN_S = 86_400.0
#: Image frames larger than this on a side are refused (no welding camera comes close).
MAX_FRAME_SIDE = 8192


def rate_problem(rate) -> str | None:
    """Why ``rate`` (Hz) is not a usable sample rate, or None."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate):
        return f"rate must be a finite number of Hz, got {rate!r}"
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        return f"rate must be in [{MIN_RATE_HZ:g}, {MAX_RATE_HZ:g}] Hz, got {rate:g}"
    return None


def time_problem(value, what: str) -> str | None:
    """Why ``value`` (seconds) is not a usable time on the recording clock, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{what} must be a finite number of seconds, got {value!r}"
    if abs(value) > MAX_CLOCK_S:
        return f"{what} must be within +-{MAX_CLOCK_S:g} s, got {value:g}"
    return None
