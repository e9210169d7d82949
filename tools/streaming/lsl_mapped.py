"""Live packets from any LSL outlets — a lab's DAQ, microphone or camera publisher — named in a
stream map (:mod:`.lsl_map`), for the stream engine.

Times: every outlet's time stamps are mapped onto this machine's LSL clock with LSL's
clock-offset correction (``time_correction``; none for outlets on this computer, which share its
clock), so outlets of several computers share one clock;
recording time 0 is the earliest time stamp of the first chunk received (the session starts with
the first sensor that speaks; a sensor that speaks later with earlier stamps loses those). A
regular outlet's samples are counted at its nominal rate from its first sample's time; where the
time stamps run ahead of the count by :data:`GAP_S` or more (or a whole sample period at low
rates), samples were lost on the way and the count jumps — a dropout the presence logic sees. An
irregular outlet (nominal rate 0; the map's ``rate`` then sizes the windows) keeps its stamps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.sensors import registry
from weldfusion.tools.streaming.lsl import IDLE_S, LslSource, _pylsl
from weldfusion.tools.streaming.lsl_map import MappedOutlet, channel_columns, read_lsl_map
from weldfusion.tools.streaming.replay import Packet, StreamHeader

#: A regular outlet's count is re-based when its time stamps run this far ahead (s): a dropout.
GAP_S = 0.02
#: Hand samples on in packets of about this length (s).
PACKET_S = 0.01


def _labels(info, n: int) -> tuple[str, ...]:
    """The outlet's channel labels (``desc/channels/channel/label``), else ``ch0`` … ``ch<n-1>``."""
    labels, ch = [], info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return tuple(labels) if len(labels) == n else tuple(f"ch{i}" for i in range(n))


class MappedLslSource(LslSource):
    """The outlets a stream map names (see the module docstring).

    Args:
        stream_map: the YAML file.
        names: modalities to receive (default: all in the map).
        resolve_s: how long to look for the outlets at the start; those not found are absent sensors
            until they appear (looked for again while receiving).
        idle_s: :meth:`packets` ends when no packet came for this long after the first.
        channel_names: per sensor, the channels the model reads (``DataInfo.modality(n).channel_names``).
    """

    def __init__(self, stream_map: str | Path, names: Sequence[str] | None = None, *, resolve_s: float = 5.0,
                 idle_s: float = IDLE_S, channel_names: dict[str, tuple[str, ...]] | None = None) -> None:
        self.map_path = Path(stream_map)
        smap = read_lsl_map(self.map_path)
        pylsl = self._pylsl = _pylsl()
        wanted = {m: out for m, out in smap.streams.items() if names is None or m in names}
        if not wanted:
            raise MissingInput(f"{self.map_path}: maps none of the model's sensors ({', '.join(names or [])})")
        self.path = f"lsl-map:{self.map_path}"
        self.idle_s = idle_s
        self.inlets, self.headers = {}, {}
        self._columns: dict[str, list[int]] = {}
        self._convert: dict[str, MappedOutlet] = {}
        self._wanted, self._channel_names = wanted, dict(channel_names or {})
        deadline = time.monotonic() + resolve_s
        for modality, out in wanted.items():
            hits = pylsl.resolve_byprop("name", out.name, minimum=1, timeout=max(0.1, deadline - time.monotonic()))
            if hits:
                self._open(modality, hits[0])
        if not self.inlets:
            raise MissingInput(f"{self.map_path}: none of the LSL outlets {', '.join(repr(o.name) for o in wanted.values())} "
                               f"answered within {resolve_s:g} s")
        self.names = tuple(self.inlets)
        self._late = [m for m in wanted if m not in self.inlets]  # looked for again while receiving
        self.meta = dict(smap.meta)
        self.origin_s = 0.0
        self.lsl_t0 = 0.0  # unused: time 0 is set by the first chunk (self._t0, local clock)
        self._t0: float | None = None
        self._t0_lock = threading.Lock()
        self._next: dict[str, int] = {}
        self._start_receiving()

    def _outlet_name(self, name: str) -> str:
        return self._wanted[name].name

    def _open(self, modality: str, info) -> None:
        """Open the inlet of outlet ``info`` for ``modality``: its channels, header and conversion."""
        out = self._wanted[modality]
        inlet, full = self._inlet(info)
        where = f"{self.map_path}: streams.{modality}"
        channels, self._columns[modality] = channel_columns(out, modality, _labels(full, full.channel_count()), where,
                                                            self._channel_names.get(modality, ()))
        self.headers[modality] = self._header(modality, out, full.nominal_srate(), channels, where)
        self._convert[modality] = out
        self.inlets[modality] = inlet

    @staticmethod
    def _header(modality: str, out: MappedOutlet, nominal: float, channels: tuple[str, ...], where: str) -> StreamHeader:
        mod = registry.get(modality)
        rate = float(out.rate or nominal)
        if not rate > 0:
            raise InvalidInput(f"{where}.rate: the outlet {out.name!r} announces no rate (irregular); give its nominal rate")
        if mod.kind == "image":
            shape, dtype = tuple(out.frame_shape), np.dtype(out.dtype or ("uint8" if mod.units == "gray8" else "float32"))
        else:
            shape, dtype = (() if len(channels) == 1 and not mod.channels else (len(channels),)), np.dtype(np.float32)
        start = 0.0 if nominal > 0 else None  # regular outlets are counted, irregular ones keep their stamps
        return StreamHeader(modality, mod.kind, rate, start, shape, dtype, channels,
                            out.units or mod.units, max(1, round(rate * PACKET_S)))

    def _count(self, name: str, t_rec: np.ndarray, rate: float) -> np.ndarray:
        """Sample counters (n,) of a regular outlet's samples at recording times ``t_rec`` (s)."""
        est = np.rint(t_rec * rate).astype(np.int64)
        tol = max(1, round(GAP_S * rate))
        counters = np.empty(len(est), dtype=np.int64)
        nxt, i = self._next.get(name, int(est[0])), 0
        while i < len(est):
            run = nxt + np.arange(len(est) - i)
            ahead = np.flatnonzero(est[i:] - run >= tol)
            j = int(ahead[0]) if len(ahead) else len(run)
            counters[i: i + j] = run[:j]
            i += j
            nxt = int(est[i]) if i < len(est) else int(counters[-1]) + 1
        self._next[name] = nxt
        return counters

    def _packets_of(self, name: str, rows: np.ndarray, stamps: np.ndarray) -> list[Packet]:
        head, out = self.headers[name], self._convert[name]
        local = stamps + self._corrections[name]
        with self._t0_lock:
            if self._t0 is None:
                self._t0 = float(local.min())
        t_rec = local - self._t0
        keep = t_rec >= -0.5 / head.rate  # before the session's time 0: dropped
        rows, t_rec = rows[keep], t_rec[keep]
        if not len(rows):
            return []
        values = rows[:, self._columns[name]] * out.scale + out.offset
        if head.dtype.kind == "u":
            top = np.iinfo(head.dtype).max
            values = np.clip(np.rint(values), 0, top)
        data = values.reshape(len(values), *head.sample_shape).astype(head.dtype)
        arrival = self.now()
        if head.starting_time is None:  # irregular: the stamps are the times
            start = self._next.get(name, 0)
            self._next[name] = start + len(data)
            return [Packet(name, start, data, t_rec, arrival)]
        counters = self._count(name, t_rec, head.rate)
        return [Packet(name, int(counters[p[0]]), data[p], head.starting_time + counters[p] / head.rate, arrival)
                for p in np.split(np.arange(len(data)), np.flatnonzero(np.diff(counters) != 1) + 1)]

    def now(self) -> float:
        """The current time on the recording clock (for latency)."""
        t0 = self._t0
        return self._pylsl.local_clock() - t0 if t0 is not None else 0.0
