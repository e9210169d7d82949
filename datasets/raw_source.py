"""Streamed raw sensor files: the common interface of the readers in ``sensors/<modality>/io.py``.

A :class:`RawSource` describes one raw stream (sample shape, dtype, units, its own clock) and
yields its samples in bounded blocks, so that a long high-speed video or a MHz acoustic file is
never held in memory whole. Times are seconds on the *stream's own clock*; ingest adds the
manifest's ``time_offset_s`` to reach the recording clock.

Readers raise :class:`IngestError` (a ``ValueError``) whose one-line message names the file and
the problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Upper bound of one block of samples handed from a reader to the writer (bytes).
BLOCK_BYTES = 16 << 20
#: Explicit times are stored as a regular stream when each lies within this share of a period of
#: ``start + i / rate``.
REGULAR_TOLERANCE = 0.01
#: A rate estimated from timestamps is rounded to a whole number of Hz when that changes it by
#: less than this relative amount.
RATE_SNAP_RELATIVE = 1e-6


class IngestError(ValueError):
    """Bad raw input; the message is one line naming the file and the problem."""


def block_length(sample_shape: tuple[int, ...], itemsize: int, max_bytes: int = BLOCK_BYTES) -> int:
    """Samples per block so that one block of ``sample_shape`` x ``itemsize`` stays <= ``max_bytes``."""
    sample_bytes = max(1, int(np.prod(sample_shape, dtype=np.int64)) * itemsize)
    return max(1, max_bytes // sample_bytes)


def natural_key(path: Path) -> list:
    """Sort key that orders ``frame_2`` before ``frame_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


@dataclass
class RawSource:
    """One raw stream, opened for reading in blocks.

    Attributes:
        path: the file (or first file of a sequence) for messages.
        modality: ``video`` | ``thermal`` | ``acoustic`` | ``electrical`` ...
        sample_shape: (H, W) / (H, W, 3) for images, () or (C,) for signals.
        dtype: dtype of the yielded blocks (values already in physical units).
        units: units of the yielded values.
        rate: nominal sample rate in Hz (None if unknown).
        start: own-clock time of sample 0 of a regular stream (``timestamps`` is None).
        timestamps: (N,) own-clock times of an irregular stream, or None.
        n: number of samples if known in advance (None: only known after reading).
        channel_names / channel_units: for signals.
        sensor: free-text description of the sensor.
        make_blocks: zero-argument callable returning an iterator of ``(k, *sample_shape)`` blocks
            of ``dtype``, in order (a fresh pass over the file on every call).
    """

    path: Path
    modality: str
    sample_shape: tuple[int, ...]
    dtype: np.dtype
    units: str
    rate: float | None
    make_blocks: Callable[[], Iterator[np.ndarray]] = field(repr=False, default=lambda: iter(()))
    start: float = 0.0
    timestamps: np.ndarray | None = None
    block_timestamps: Callable[[], Iterator[np.ndarray]] | None = field(repr=False, default=None)
    n: int | None = None
    channel_names: tuple[str, ...] | None = None
    channel_units: tuple[str, ...] | None = None
    sensor: str = ""

    @property
    def regular(self) -> bool:
        """True when times are ``start + i / rate`` (no per-sample timestamps)."""
        return self.timestamps is None and self.block_timestamps is None

    def blocks(self) -> Iterator[np.ndarray]:
        """Blocks ``(k, *sample_shape)`` of ``dtype`` in order."""
        return self.make_blocks()

    def blocks_with_times(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Blocks with their own-clock times ``(k,)`` float64."""
        i = 0
        times = self.block_timestamps() if self.block_timestamps is not None else None
        for block in self.blocks():
            k = len(block)
            if times is not None:
                t = next(times)
                if len(t) != k:
                    raise IngestError(f"{self.path}: internal error: {len(t)} times for {k} samples")
            elif self.timestamps is not None:
                t = self.timestamps[i : i + k]
                if len(t) != k:
                    raise IngestError(f"{self.path}: more samples than timestamps ({len(self.timestamps)})")
            else:
                t = self.start + np.arange(i, i + k, dtype=np.float64) / self.rate
            i += k
            yield block, t

    def span(self) -> tuple[float, float] | None:
        """(first sample time, last sample time + one period) on the own clock, if known up front."""
        if self.timestamps is not None:
            if not len(self.timestamps):
                return None
            period = 1.0 / self.rate if self.rate else 0.0
            return float(self.timestamps[0]), float(self.timestamps[-1]) + period
        if self.n is None or not self.rate or not self.regular:
            return None
        return self.start, self.start + self.n / self.rate


# -- time checks --------------------------------------------------------------------------------
class TimeScan:
    """Streaming checks of a time column: finite, strictly increasing, no duplicates.

    Feed blocks of times with :meth:`update`; errors name ``what`` (the file and column) and the
    sample index plus ``row_offset`` (e.g. the line number of the first data row of a CSV).
    """

    def __init__(self, what: str, row_offset: int = 0) -> None:
        self.what = what
        self.row_offset = row_offset
        self.n = 0
        self.first = math.nan
        self.last = -math.inf
        self.min_step = math.inf
        self.max_step = -math.inf

    def update(self, t: np.ndarray) -> None:
        t = np.asarray(t, dtype=np.float64)
        if not len(t):
            return
        bad = np.flatnonzero(~np.isfinite(t))
        if len(bad):
            raise IngestError(f"{self.what}: missing or invalid time at row {self.n + bad[0] + self.row_offset}")
        steps = np.diff(np.concatenate([[self.last], t])) if self.n else np.diff(t)
        base = self.n if self.n else 1
        dup = np.flatnonzero(steps == 0)
        if len(dup):
            value = float(t[dup[0] + (0 if self.n else 1)])
            raise IngestError(f"{self.what}: duplicated time {value:g} at row {base + dup[0] + self.row_offset}")
        back = np.flatnonzero(steps < 0)
        if len(back):
            raise IngestError(
                f"{self.what}: time goes backwards (not monotonic) at row {base + back[0] + self.row_offset}"
            )
        if len(steps):
            self.min_step = min(self.min_step, float(steps.min()))
            self.max_step = max(self.max_step, float(steps.max()))
        if not self.n:
            self.first = float(t[0])
        self.last = float(t[-1])
        self.n += len(t)

    def rate_estimate(self) -> float | None:
        """Mean rate ``(n - 1) / (last - first)``, snapped to whole Hz (see :func:`snap_rate`)."""
        if self.n < 2:
            return None
        return snap_rate((self.n - 1) / (self.last - self.first))

    def maybe_regular(self, rate: float) -> bool:
        """Cheap necessary condition for :func:`max_deviation` <= :data:`REGULAR_TOLERANCE`."""
        if self.n < 2:
            return True
        return self.max_step - self.min_step <= 2 * REGULAR_TOLERANCE / rate


def snap_rate(rate: float) -> float:
    """``rate`` rounded to whole Hz when that changes it by less than :data:`RATE_SNAP_RELATIVE`."""
    whole = round(rate)
    if whole > 0 and abs(whole - rate) <= RATE_SNAP_RELATIVE * rate:
        return float(whole)
    return float(rate)


def max_deviation(blocks: Iterable[np.ndarray], start: float, rate: float) -> float:
    """Largest ``|t_i - (start + i / rate)|`` over streamed blocks of times, in periods."""
    worst = 0.0
    i = 0
    for t in blocks:
        t = np.asarray(t, dtype=np.float64)
        if len(t):
            ideal = start + np.arange(i, i + len(t), dtype=np.float64) / rate
            worst = max(worst, float(np.max(np.abs(t - ideal))) * rate)
        i += len(t)
    return worst


def regular_timebase(times: np.ndarray, rate: float | None = None) -> tuple[float, float] | None:
    """``(start, rate)`` if in-memory ``times`` are regular within :data:`REGULAR_TOLERANCE`, else None."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2:
        return None
    if rate is None:
        rate = snap_rate((len(times) - 1) / (times[-1] - times[0]))
    if max_deviation([times], float(times[0]), rate) <= REGULAR_TOLERANCE:
        return float(times[0]), float(rate)
    return None


def check_times(times: np.ndarray, what: str, row_offset: int = 0) -> np.ndarray:
    """Validate in-memory times (finite, strictly increasing); returns them as float64."""
    TimeScan(what, row_offset).update(times)
    return np.asarray(times, dtype=np.float64)
