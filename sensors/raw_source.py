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
import pandas as pd
from weldfusion.recipes.errors import InvalidInput, MissingInput

#: Upper bound of one block of samples handed from a reader to the writer (bytes).
BLOCK_BYTES = 16 << 20
#: Explicit times are stored as a regular stream when each lies within this share of a period of
#: ``start + i / rate``.
REGULAR_TOLERANCE = 0.01
#: A rate estimated from timestamps is rounded to a whole number of Hz when that changes it by
#: less than this relative amount.
RATE_SNAP_RELATIVE = 1e-6


class IngestError(InvalidInput):
    """Bad raw input; the message is one line naming the file and the problem."""


def first_line(err: BaseException, limit: int = 160) -> str:
    """A library's error as one short line (its type when it has no message, e.g. MemoryError)."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:limit]


def block_length(sample_shape: tuple[int, ...], itemsize: int, max_bytes: int | None = None) -> int:
    """Samples per block so that one block of ``sample_shape`` x ``itemsize`` stays <= ``max_bytes``
    (default :data:`BLOCK_BYTES`)."""
    max_bytes = BLOCK_BYTES if max_bytes is None else max_bytes
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
        make_timed_blocks: instead of ``make_blocks`` for irregular streams whose times are read
            with the samples (a CSV time column): yields ``(block, times (k,))``.
        known_span: (first time, last time + one period) when known without ``timestamps``.
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
    make_timed_blocks: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]] | None = field(repr=False, default=None)
    known_span: tuple[float, float] | None = None
    n: int | None = None
    channel_names: tuple[str, ...] | None = None
    channel_units: tuple[str, ...] | None = None
    sensor: str = ""

    @property
    def regular(self) -> bool:
        """True when times are ``start + i / rate`` (no per-sample timestamps)."""
        return self.timestamps is None and self.make_timed_blocks is None

    def blocks(self) -> Iterator[np.ndarray]:
        """Blocks ``(k, *sample_shape)`` of ``dtype`` in order."""
        if self.make_timed_blocks is not None:
            return (block for block, _ in self.make_timed_blocks())
        return self.make_blocks()

    def blocks_with_times(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Blocks with their own-clock times ``(k,)`` float64."""
        if self.make_timed_blocks is not None:
            yield from self.make_timed_blocks()
            return
        i = 0
        for block in self.make_blocks():
            k = len(block)
            if self.timestamps is not None:
                t = self.timestamps[i : i + k]
                if len(t) != k:
                    raise IngestError(f"{self.path}: more samples than timestamps ({len(self.timestamps)})")
            else:
                t = self.start + np.arange(i, i + k, dtype=np.float64) / self.rate
            i += k
            yield block, t

    def span(self) -> tuple[float, float] | None:
        """(first sample time, last sample time + one period) on the own clock, if known up front."""
        if self.known_span is not None:
            return self.known_span
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
    sample index plus ``row_offset`` (with ``word="line"`` and the line number of the first data row
    of a CSV as ``row_offset``, the messages give CSV line numbers).
    """

    def __init__(self, what: str, row_offset: int = 0, word: str = "sample") -> None:
        self.what = what
        self.row_offset = row_offset
        self.word = word
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
            where = f"{self.word} {self.n + bad[0] + self.row_offset}"
            raise IngestError(f"{self.what}: missing or invalid time at {where}")
        steps = np.diff(np.concatenate([[self.last], t])) if self.n else np.diff(t)
        base = self.n if self.n else 1
        dup = np.flatnonzero(steps == 0)
        if len(dup):
            value = float(t[dup[0] + (0 if self.n else 1)])
            where = f"{self.word} {base + dup[0] + self.row_offset}"
            raise IngestError(f"{self.what}: duplicated time {value:g} at {where}")
        back = np.flatnonzero(steps < 0)
        if len(back):
            raise IngestError(
                f"{self.what}: time goes backwards (not monotonic) at {self.word} {base + back[0] + self.row_offset}"
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


# -- time values ----------------------------------------------------------------------------------
_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class TimeParser:
    """Turns a column of time values into float64 seconds on the stream's own clock.

    Numeric values are seconds (or ``unit``); text values are parsed as date-times (``time_format``
    for ``strptime``-style formats, ISO 8601 otherwise) and counted from ``origin`` (an ISO
    date-time; default: the first value seen). Feed consecutive blocks to :meth:`__call__`.
    """

    def __init__(self, what: str, unit: str = "s", time_format: str | None = None, origin: str | None = None):

        self.what = what
        self.scale = _UNIT_SECONDS[unit]
        self.time_format = time_format
        self._origin = None
        if origin is not None:
            try:
                self._origin = pd.Timestamp(origin)
            except (ValueError, TypeError):
                raise IngestError(f"{what}: time_origin {origin!r} is not an ISO 8601 date-time") from None
            if self._origin.tzinfo is not None:
                self._origin = self._origin.tz_convert("UTC").tz_localize(None)

    def __call__(self, values, row_offset: int = 0) -> np.ndarray:

        series = pd.Series(values)
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            if self.time_format is not None:
                raise IngestError(f"{self.what}: time_format is given but the times are numbers")
            return series.to_numpy(dtype=np.float64) * self.scale
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            stamps = series
        else:
            present = series.notna().to_numpy() & (series.astype(str).str.strip() != "").to_numpy()
            numeric = pd.to_numeric(series.where(present), errors="coerce")
            if not np.any(numeric.isna().to_numpy() & present):  # all numbers (or empty cells)
                return numeric.to_numpy(dtype=np.float64) * self.scale
            stamps = pd.to_datetime(series.where(present), format=self.time_format or "ISO8601", errors="coerce")
            bad = np.flatnonzero(stamps.isna().to_numpy() & present)
            if len(bad):
                expected = f"date-times like {self.time_format!r}" if self.time_format else "ISO 8601 date-times"
                raise IngestError(f"{self.what}: cannot read time {series.iloc[bad[0]]!r} at line "
                                  f"{row_offset + bad[0]} (expected seconds or {expected})")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        if self._origin is None:
            first = stamps.dropna()
            if not len(first):
                return np.full(len(stamps), np.nan)
            self._origin = first.iloc[0]
        delta = (stamps - self._origin).dt.total_seconds()
        return delta.to_numpy(dtype=np.float64)


def read_time_csv(path: Path, column: str | None, parser: TimeParser) -> np.ndarray:
    """Per-sample times (N,) float64 from a CSV (``column``, default the first one), checked.

    A CSV whose first line is a number has no header. Times must be strictly increasing.
    """

    if not path.is_file():
        raise MissingInput(f"{path}: no such timestamps file")
    try:
        head = pd.read_csv(path, nrows=0)
        header = 0
        if column is None and len(head.columns) and _is_number(str(head.columns[0])):
            header = None
        names = [] if header is None else [str(c) for c in head.columns]
        if column is not None and column not in names:
            raise IngestError(f"{path}: column {column!r} not found (columns: {', '.join(names)})")
        usecols = [column] if column is not None else [0]
        parts = []
        scan = TimeScan(f"{path}: column {column or 1}", row_offset=2 if header == 0 else 1, word="line")
        for chunk in pd.read_csv(path, header=header, usecols=usecols, chunksize=1 << 20):
            t = parser(chunk.iloc[:, 0], row_offset=scan.n + scan.row_offset)
            scan.update(t)
            parts.append(t)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise IngestError(f"{path}: not a readable CSV ({first_line(err)})") from None
    if not parts or scan.n == 0:
        raise IngestError(f"{path}: no timestamps")
    return np.concatenate(parts)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def resolve_timebase(manifest, name: str, files: list[Path], n: int | None, native_rate: float | None
                     ) -> tuple[float, float, np.ndarray | None]:
    """``(start, rate, timestamps | None)`` of a stream from its manifest entry.

    With ``timestamps:`` (a CSV) the per-sample times are read and checked (one per sample);
    times that are regular within :data:`REGULAR_TOLERANCE` become ``(start, rate, None)``.
    Otherwise ``rate`` (manifest, else the file's ``native_rate``) and ``start_time_s``.
    """
    spec = manifest.streams[name]
    where = f"{manifest.path}: streams.{name}"
    if spec.timestamps is not None:
        if spec.start_time_s != 0.0:
            raise IngestError(f"{where}.start_time_s: does not apply with 'timestamps' (the CSV gives the times)")
        ts_path = manifest.resolve(spec.timestamps)
        parser = TimeParser(f"{ts_path}", spec.time_unit, spec.time_format, manifest.time_origin)
        ts = read_time_csv(ts_path, spec.time_column, parser)
        if n is not None and len(ts) != n:
            raise IngestError(f"{ts_path}: {len(ts)} timestamps for {n} samples in {files[0]}")
        reg = regular_timebase(ts, spec.rate)
        if reg is not None:
            return reg[0], reg[1], None
        rate = spec.rate or (snap_rate(1.0 / float(np.median(np.diff(ts)))) if len(ts) > 1 else None)
        if rate is None:
            raise IngestError(f"{where}: one timestamp only; give 'rate' as well")
        return float(ts[0]), rate, ts
    rate = spec.rate if spec.rate is not None else native_rate
    if rate is None or not (np.isfinite(rate) and rate > 0):
        raise IngestError(f"{where}: {files[0]} carries no sample rate; give 'rate' (Hz) or 'timestamps' (CSV)")
    return float(spec.start_time_s), float(rate), None


def scale_offset(raw: np.ndarray, scale: float | None, offset: float | None) -> np.ndarray:
    """``raw * scale + offset`` computed in float64, returned as float32 (missing: scale 1, offset 0)."""
    if (scale is None or scale == 1.0) and not offset:
        return raw.astype(np.float32)
    out = raw.astype(np.float64)
    if scale is not None:
        out *= scale
    if offset:
        out += offset
    return out.astype(np.float32)
