"""Per-modality ring buffers of a live stream, addressed like a recording file.

A :class:`RingBuffer` keeps the last ``capacity`` samples of one sensor stream together with
their timestamps and implements the :class:`weldfusion.datasets.windows.StreamReader` protocol,
so the window assembly code of the offline dataset reads a live stream exactly as it reads a
recording (same index arithmetic, same sample times, same gap semantics):

- regular streams (``starting_time`` + ``rate``): sample ``i`` sits at ``starting_time + i / rate``;
  packets carry the sensor's sample counter ``start``. Samples a packet skips (the sensor stalled
  or dropped data) become a *hole*: zero rows in the buffer and a gap interval
  ``[t_i, t_j)`` in :attr:`RingBuffer.info`, exactly like a stored gap.
- irregular streams (per-sample timestamps): samples are numbered in arrival order; a jump of
  the sample counter becomes a gap from one nominal period after the last received sample to
  the first sample after the jump.

Index ranges follow :meth:`weldfusion.datasets.reader.Recording.index_range`. Reading samples
that have already been overwritten raises ``ValueError`` (the buffer is too short for the
window); the assembler sizes buffers with room to spare.
"""

from __future__ import annotations

import math

import numpy as np
from weldfusion.datasets.reader import StreamInfo, invalid_share
from weldfusion.datasets.resample import nearest_indices
from weldfusion.datasets.sample_times import regular_times
from weldfusion.datasets.schema import TIME_EPS


class RingBuffer:
    """The last ``capacity`` samples of one stream.

    Args:
        name: modality name.
        sample_shape: shape of one sample: () or (C,) for signals, (H, W) for frames.
        dtype: sample dtype as delivered (uint8 frames, float32 signals, ...).
        rate: nominal sample rate in Hz.
        starting_time: time of sample 0 (regular streams); None for irregular streams.
        capacity: samples kept.
        channel_names, units: stream description (for :attr:`info`).
    """

    def __init__(self, name: str, sample_shape: tuple[int, ...], dtype, rate: float, starting_time: float | None,
                 capacity: int, channel_names: tuple[str, ...] = (), units: str = "") -> None:
        if capacity < 1:
            raise ValueError(f"{name}: ring buffer capacity must be >= 1, got {capacity}")
        if not rate > 0:
            raise ValueError(f"{name}: nominal rate must be > 0 Hz, got {rate}")
        self.name = name
        self.sample_shape = tuple(sample_shape)
        self.dtype = np.dtype(dtype)
        self.rate = float(rate)
        self.regular = starting_time is not None
        self.starting_time = float(starting_time) if starting_time is not None else None
        self.capacity = int(capacity)
        self.channel_names = tuple(channel_names)
        self.units = units
        self._data = np.zeros((self.capacity, *self.sample_shape), dtype=self.dtype)
        self._times = None if self.regular else np.zeros(self.capacity, dtype=np.float64)
        self.n = 0  # next sample index (regular: sensor counter; irregular: samples received)
        self.first: int | None = None  # index of the first sample received
        self._first_time = 0.0
        self._counter = 0  # irregular streams: the sensor's next expected counter
        self._holes: list[tuple[int, int]] = []  # regular: [i0, i1) index ranges never received
        self._gaps: list[tuple[float, float]] = []  # irregular: time gaps
        self._info: StreamInfo | None = None
        #: window bins computed so far, per (kind, columns) (:class:`~weldfusion.datasets.resample.BinCache`,
        #: filled by the window assembly: the next hop's window reuses the bins it shares with this one)
        self.bin_caches: dict = {}

    # -- receiving ------------------------------------------------------------------------------
    def push(self, start: int, data: np.ndarray, times: np.ndarray | None = None) -> None:
        """Append a packet: ``data`` (n, *sample_shape) whose first sample has counter ``start``.

        ``times`` (n,) float64 is required for irregular streams and ignored for regular ones.
        Packets must arrive in counter order; a counter jump is a hole (see module docstring).
        """
        data = np.asarray(data)
        n = len(data)
        if data.shape[1:] != self.sample_shape:
            raise ValueError(f"{self.name}: packet samples of shape {data.shape[1:]}, expected {self.sample_shape}")
        if n == 0:
            return
        if n > self.capacity:
            raise ValueError(f"{self.name}: packet of {n} samples exceeds the ring buffer ({self.capacity})")
        if self.regular:
            if start < self.n:
                raise ValueError(f"{self.name}: packet starts at sample {start}, already have up to {self.n}")
            if self.first is None:
                self.first = self.n = start
                self._first_time = self.sample_time(start)
            elif start > self.n:
                self._fill_zeros(self.n, start)
                self._holes.append((self.n, start))
            at = start
        else:
            if times is None or len(times) != n:
                raise ValueError(f"{self.name}: irregular stream packets need one timestamp per sample")
            times = np.asarray(times, dtype=np.float64)
            if self.first is None:
                self.first = 0
                self._first_time = float(times[0])
            elif start < self._counter:
                raise ValueError(f"{self.name}: packet starts at sample {start}, already have up to {self._counter}")
            else:
                last = self._times[(self.n - 1) % self.capacity]
                if times[0] <= last:
                    raise ValueError(f"{self.name}: packet timestamps go back in time ({times[0]} <= {last})")
                if start > self._counter:
                    self._gaps.append((last + 1.0 / self.rate, float(times[0])))
            self._counter = start + n
            at = self.n
        self._write(at, data, times)
        self.n = at + n
        self._prune()
        self._info = None

    def _slots(self, i0: int, i1: int) -> list[tuple[slice, slice]]:
        """(buffer slice, source slice) pairs covering indices i0..i1-1 (at most two: wrap-around)."""
        a, out, done = i0 % self.capacity, [], 0
        while done < i1 - i0:
            k = min(self.capacity - a, i1 - i0 - done)
            out.append((slice(a, a + k), slice(done, done + k)))
            done += k
            a = 0
        return out

    def _write(self, at: int, data: np.ndarray, times: np.ndarray | None) -> None:
        a = at % self.capacity
        if a + len(data) <= self.capacity:  # no wrap-around (most packets)
            self._data[a:a + len(data)] = data
            if self._times is not None:
                self._times[a:a + len(data)] = times
            return
        for dst, src in self._slots(at, at + len(data)):
            self._data[dst] = data[src]
            if self._times is not None:
                self._times[dst] = times[src]

    def _fill_zeros(self, i0: int, i1: int) -> None:
        i0 = max(i0, i1 - self.capacity)
        for dst, _ in self._slots(i0, i1):
            self._data[dst] = 0

    def _prune(self) -> None:
        if not self._holes and not self._gaps:
            return
        lo = self.oldest
        self._holes = [(a, b) for a, b in self._holes if b > lo]
        if self._times is not None and self._gaps:
            t_lo = self._times[lo % self.capacity]
            self._gaps = [(a, b) for a, b in self._gaps if b > t_lo]

    # -- state ----------------------------------------------------------------------------------
    @property
    def oldest(self) -> int:
        """Index of the oldest sample still held."""
        return max(self.first or 0, self.n - self.capacity)

    @property
    def empty(self) -> bool:
        return self.first is None

    def sample_time(self, i: int) -> float:
        """Time of held sample ``i`` (seconds)."""
        if self.regular:
            return self.starting_time + i / self.rate
        self._check(i, i + 1)
        return float(self._times[i % self.capacity])

    @property
    def last_time(self) -> float:
        """Time of the newest sample (-inf when empty)."""
        return -math.inf if self.empty else self.sample_time(self.n - 1)

    @property
    def t_end(self) -> float:
        """End of the received samples (newest sample + one period); -inf when empty. Cheap: no :attr:`info`."""
        if self.empty:
            return -math.inf
        return (self.starting_time + self.n / self.rate) if self.regular else self.last_time + 1.0 / self.rate

    @property
    def info(self) -> StreamInfo:
        """The stream as far as it has been received (``n``, ``t_end`` and ``gaps`` grow with each packet)."""
        if self._info is None:
            if self.empty:
                t_start = t_end = 0.0
            else:
                t_start = self.sample_time(self.first) if self.regular else self._first_time
                t_end = self.t_end
            if self.regular:
                gaps = [(self.starting_time + a / self.rate, self.starting_time + b / self.rate) for a, b in self._holes]
            else:
                gaps = list(self._gaps)
            self._info = StreamInfo(
                name=self.name, shape=(self.n, *self.sample_shape), dtype=self.dtype, units=self.units,
                channel_names=self.channel_names, rate=self.rate, starting_time=self.starting_time,
                regular=self.regular, t_start=t_start, t_end=t_end,
                gaps=np.asarray(gaps, dtype=np.float64).reshape(-1, 2), sensor="", attrs={})
        return self._info

    def gap_coverage(self, t0: float, t1: float) -> float:
        """Share of [t0, t1) in a hole or outside the received samples (as ``Recording.gap_coverage``)."""
        if t1 <= t0:
            return 0.0
        if self.empty:
            return 1.0
        info = self.info
        return invalid_share(t0, t1, info.t_start, info.t_end, info.gaps)

    # -- StreamReader protocol (datasets/windows.py) --------------------------------------------
    def index_range(self, t0: float, t1: float) -> tuple[int, int]:
        """Indices [i0, i1) of the samples with ``t0 <= t < t1`` (clipped to what was received)."""
        if self.empty:
            return 0, 0
        if self.regular:
            i0 = math.ceil((t0 - self.starting_time) * self.rate - TIME_EPS)
            i1 = math.ceil((t1 - self.starting_time) * self.rate - TIME_EPS)
        else:
            lo = self.oldest
            ts = self.times(lo, self.n)
            i0 = lo + int(np.searchsorted(ts, t0 - TIME_EPS, side="left"))
            i1 = lo + int(np.searchsorted(ts, t1 - TIME_EPS, side="left"))
        i0 = min(max(i0, self.first), self.n)
        i1 = min(max(i1, i0), self.n)
        return i0, i1

    def index_until(self, t: float) -> int:
        """Regular streams: the ``i1`` of :meth:`index_range` for samples before ``t``, not clipped."""
        return math.ceil((t - self.starting_time) * self.rate - TIME_EPS)

    def _check(self, i0: int, i1: int) -> None:
        if i0 < self.oldest or i1 > self.n:
            raise ValueError(f"{self.name}: samples [{i0}, {i1}) requested, the ring buffer holds "
                             f"[{self.oldest}, {self.n}) (capacity {self.capacity}): buffer too short")

    def times(self, i0: int, i1: int) -> np.ndarray:
        """Times (i1 - i0,) float64 of samples i0..i1-1."""
        if self.regular:
            return regular_times(self.starting_time, self.rate, i0, i1)
        self._check(i0, i1)
        return np.concatenate([self._times[dst] for dst, _ in self._slots(i0, i1)]) if i1 > i0 else np.zeros(0)

    def nearest_rows(self, grid: np.ndarray) -> np.ndarray:
        """Index of the held sample nearest in time to each grid time (irregular streams)."""
        lo = self.oldest
        return lo + nearest_indices(self.times(lo, self.n), grid)

    def read_slice(self, i0: int, i1: int) -> np.ndarray:
        """Samples i0..i1-1: (i1 - i0, *sample_shape); a view when they do not wrap (valid until the next push)."""
        self._check(i0, i1)
        parts = self._slots(i0, i1)
        if len(parts) == 1:
            return self._data[parts[0][0]]
        return np.concatenate([self._data[dst] for dst, _ in parts]) if parts else self._data[:0]

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Samples at indices ``rows``: (len(rows), *sample_shape)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows):
            self._check(int(rows.min()), int(rows.max()) + 1)
        return self._data[rows % self.capacity]
