"""Replay a recording as live sensor streams: packets at each sensor's native rate.

Each stream is cut into the packets a real acquisition chain would deliver: image streams
(high-speed / IR camera) one frame per packet, signals (microphone, acoustic emission, DAQ) in
blocks of ``packet_s`` seconds (10 ms by default) aligned to the sensor's sample counter. A
packet is delivered (``arrival``, seconds on the recording clock) one sample period after its
last sample was taken; the packets of all streams are merged in arrival order (ties broken in
modality order), so consuming them in order is the live arrival sequence. Pacing them on the
wall clock is the consumer's job (:class:`weldfusion.tools.streaming.engine.StreamEngine`).

Samples inside a stored gap of the recording are not delivered (the sensor gave nothing valid
then), and ``stalls`` simulate a sensor that stops delivering: ``{"video": [(2.0, 3.0)]}`` drops
every video sample with ``2.0 <= t < 3.0``. A packet whose block loses samples that way is split
into its delivered runs, all arriving at the block's arrival time.

Recordings are read block-wise (``read_s`` seconds per HDF5 read), so memory stays bounded for
MHz acoustic emission or kHz video.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
from weldfusion.datasets.reader import Recording
from weldfusion.recipes.errors import InvalidInput


@dataclass(frozen=True)
class StreamHeader:
    """What a sensor announces when it connects.

    ``starting_time`` is None for streams with per-sample timestamps (irregular); ``rate`` is the
    nominal rate in Hz (for irregular streams without one, the median rate of the stored timestamps).
    """

    name: str
    kind: str  # "image" | "signal"
    rate: float
    starting_time: float | None
    sample_shape: tuple[int, ...]
    dtype: np.dtype
    channel_names: tuple[str, ...]
    units: str
    packet_samples: int

    @property
    def packet_s(self) -> float:
        """Nominal packet duration in seconds."""
        return self.packet_samples / self.rate


@dataclass(frozen=True)
class Packet:
    """One delivery of one sensor.

    ``start``: the sensor's sample counter of the first sample (its index in the recording);
    ``data``: (n, *sample_shape) in the stored dtype; ``times``: (n,) float64 sample times;
    ``arrival``: delivery time (recording clock, seconds).
    """

    name: str
    start: int
    data: np.ndarray
    times: np.ndarray
    arrival: float


def _intervals(value: Sequence | np.ndarray) -> np.ndarray:
    out = np.asarray(value, dtype=np.float64).reshape(-1, 2)
    if len(out) and np.any(out[:, 1] <= out[:, 0]):
        raise InvalidInput(f"stall intervals must have start < end, got {out.tolist()}")
    return out


class Replay:
    """Live-stream view of one recording.

    Args:
        path: the recording (``.h5``).
        names: modalities to replay (default: every stream of the recording).
        packet_s: signal packet length in seconds (image streams: one frame per packet).
        stalls: ``{modality: [(start_s, end_s), ...]}`` intervals in which the sensor delivers nothing.
        deliver_gaps: also deliver samples inside the recording's stored gaps.
        read_s: seconds of samples read from the file at once per stream.
    """

    def __init__(self, path: str | os.PathLike, names: Sequence[str] | None = None, packet_s: float = 0.01,
                 stalls: dict[str, Sequence] | None = None, deliver_gaps: bool = False, read_s: float = 0.5) -> None:
        self.path = Path(path)
        if not packet_s > 0:
            raise InvalidInput(f"packet_s must be > 0, got {packet_s}")
        self.rec = Recording(self.path)
        streams = self.rec.streams
        self.names = tuple(n for n in (names if names is not None else streams) if n in streams and streams[n].n > 0)
        stalls = dict(stalls or {})
        unknown = [n for n in stalls if n not in streams]
        if unknown:
            raise InvalidInput(f"{self.path}: cannot stall {unknown[0]!r}: no such stream "
                             f"(have: {', '.join(streams)})")
        self._stalls = {n: _intervals(v) for n, v in stalls.items()}
        self.deliver_gaps = deliver_gaps
        self.read_s = read_s
        self.headers: dict[str, StreamHeader] = {}
        for name in self.names:
            info = streams[name]
            image = len(info.sample_shape) >= 2
            rate = info.rate or 1.0 / float(np.median(np.diff(self.rec.timestamps(name))))
            self.headers[name] = StreamHeader(
                name, "image" if image else "signal", float(rate), info.starting_time if info.regular else None,
                info.sample_shape, info.dtype, info.channel_names, info.units,
                1 if image else max(1, round(rate * packet_s)))

    @property
    def meta(self) -> dict:
        return self.rec.meta

    @property
    def origin_s(self) -> float:
        """Time of the earliest first sample over the replayed streams."""
        return min((self.rec.streams[n].t_start for n in self.names), default=0.0)

    @property
    def end_s(self) -> float:
        """End of the latest stream (last sample + one period)."""
        return max((self.rec.streams[n].t_end for n in self.names), default=0.0)

    def _dropped(self, name: str, times: np.ndarray) -> np.ndarray:
        """(n,) bool: samples not delivered (stalls, and stored gaps unless ``deliver_gaps``)."""
        out = np.zeros(len(times), dtype=bool)
        intervals = [self._stalls.get(name, np.zeros((0, 2)))]
        if not self.deliver_gaps:
            intervals.append(self.rec.streams[name].gaps)
        for g0, g1 in np.concatenate(intervals):
            out |= (times >= g0) & (times < g1)
        return out

    def _stream(self, order: int, name: str) -> Iterator[tuple[float, int, int, Packet]]:
        """Packets of one stream in arrival order as heap entries (arrival, order, seq, packet)."""
        head = self.headers[name]
        info = self.rec.streams[name]
        per = head.packet_samples
        block = max(per, round(self.read_s * head.rate / per) * per)  # whole packets per file read
        period = 1.0 / head.rate
        seq = 0
        for b0 in range(0, info.n, block):
            b1 = min(info.n, b0 + block)
            data = self.rec.read_index(name, b0, b1)
            times = self.rec.times(name, b0, b1)
            dropped = self._dropped(name, times)
            for p0 in range(0, b1 - b0, per):
                p1 = min(b1 - b0, p0 + per)
                arrival = float(times[p1 - 1]) + period
                keep = ~dropped[p0:p1]
                if keep.all():
                    runs = [(p0, p1)]
                elif not keep.any():
                    continue
                else:  # delivered runs of samples inside this block
                    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
                    runs = [(p0 + a, p0 + b) for a, b in zip(edges[::2], edges[1::2])]
                for r0, r1 in runs:
                    yield arrival, order, seq, Packet(name, b0 + r0, data[r0:r1], times[r0:r1], arrival)
                    seq += 1

    def packets(self) -> Iterator[Packet]:
        """Every delivered packet of every replayed stream, in arrival order."""
        streams = [self._stream(k, name) for k, name in enumerate(self.names)]
        for _, _, _, packet in heapq.merge(*streams):
            yield packet

    def close(self) -> None:
        self.rec.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
