"""Sample times of a regular stream, defined once and computed only where they are needed.

A regular stream's sample ``i`` sits at ``starting_time + i / rate`` seconds (float64, this
expression exactly: :func:`regular_times`). Both readers — the recording file
(:meth:`weldfusion.datasets.reader.Recording.times`) and the live ring buffer — use it.

A window of acoustic emission at 1 MHz reads 400,000 samples; its 1,600 RMS bins need the times of
1,601 bin edges, not of every sample. :class:`RegularTimes` stands for the times of samples
``i0 .. i1-1`` without building them: indexing computes the requested elements with the same
expression, and :func:`searchsorted` finds positions arithmetically, then checks them against
those exact values, so every result equals what ``np.searchsorted`` gives on the full array.
Anything else (``np.asarray``) builds the full array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def regular_times(starting_time: float, rate: float, i0: int, i1: int) -> np.ndarray:
    """Times (i1 - i0,) float64 of regular samples i0..i1-1: ``starting_time + i / rate``."""
    return starting_time + np.arange(i0, i1, dtype=np.float64) / rate


#: :meth:`RegularTimes.searchsorted` builds the times of stretches up to this many samples (faster there).
_BUILD_BELOW = 20_000


@dataclass(frozen=True)
class RegularTimes:
    """The times of regular samples ``i0 .. i1-1`` (see module docstring); behaves as that (n,) array
    for ``len``, ``[int]``, ``[int array]``, ``[bool mask]``, ``[slice]`` and :func:`searchsorted`."""

    starting_time: float
    rate: float
    i0: int
    i1: int

    def __len__(self) -> int:
        return max(0, self.i1 - self.i0)

    def at(self, k: np.ndarray) -> np.ndarray:
        """Times of positions ``k`` (int array, 0 <= k < len) — the expression of :func:`regular_times`."""
        return self.starting_time + (self.i0 + np.asarray(k, dtype=np.int64)).astype(np.float64) / self.rate

    def __getitem__(self, key):
        n = len(self)
        if isinstance(key, slice):
            return self.at(np.arange(n)[key])
        k = np.asarray(key)
        if k.dtype == bool:
            if k.shape != (n,):
                raise IndexError(f"boolean index of shape {k.shape} for {n} sample times")
            return self.at(np.flatnonzero(k))
        if k.ndim == 0:
            i = int(k) + n if int(k) < 0 else int(k)
            if not 0 <= i < n:
                raise IndexError(f"sample time {int(k)} out of range for {n} samples")
            return float(self.at(np.int64(i)))
        k = np.where(k < 0, k + n, k)
        if k.size and (k.min() < 0 or k.max() >= n):
            raise IndexError(f"sample time index out of range for {n} samples")
        return self.at(k)

    def __array__(self, dtype=None, copy=None):
        out = regular_times(self.starting_time, self.rate, self.i0, self.i1)
        return out if dtype is None else out.astype(dtype)

    def searchsorted(self, values, side: str = "left") -> np.ndarray:
        """``np.searchsorted(np.asarray(self), values, side)`` without building the array."""
        values = np.asarray(values, dtype=np.float64)
        n = len(self)
        if n <= _BUILD_BELOW:  # a short stretch: building it is cheaper than the arithmetic
            return np.searchsorted(np.asarray(self), values, side=side)
        k = np.ceil((values - self.starting_time) * self.rate - self.i0)
        k = np.clip(np.nan_to_num(k, nan=0.0, posinf=n, neginf=0.0), 0, n).astype(np.int64)
        before = (lambda t: t >= values) if side == "left" else (lambda t: t > values)
        for _ in range(n + 1):  # a step or two at most: the estimate is within a sample of the answer
            down = (k > 0) & before(self.at(np.maximum(k - 1, 0)))
            up = (k < n) & ~before(self.at(np.minimum(k, n - 1)))
            if not (down.any() or up.any()):
                return k
            k = k - down + up
        return k  # pragma: no cover - the loop ends within n + 1 steps on a monotonic grid


def searchsorted(times, values, side: str = "left") -> np.ndarray:
    """``np.searchsorted`` on an array of times or on :class:`RegularTimes` (without building it)."""
    if isinstance(times, RegularTimes):
        return times.searchsorted(values, side)
    return np.searchsorted(times, values, side=side)
