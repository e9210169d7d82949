"""Lab Streaming Layer (``pylsl``): publish a recording as LSL outlets, receive any weldfusion
outlets as a live source for :class:`~weldfusion.tools.streaming.engine.StreamEngine`.

One outlet per sensor stream, named ``<prefix>.<modality>``, channel format ``double64``: channel
0 is the sensor's sample counter (so a receiver knows which samples a dropout took, exactly as
the replay's packets say), the others the flattened sample (an image frame is H*W values). The
outlet's description carries what a :class:`~weldfusion.tools.streaming.replay.StreamHeader`
needs (rate, starting time, shape, dtype, channels, units) and the recording's metadata.

Times: the publisher maps recording time 0 to LSL time ``lsl_t0`` (``local_clock()`` when it
starts, written into every outlet's description) and stamps each chunk with ``lsl_t0 + time of
its last sample``. The receiver applies LSL's clock-offset correction (``time_correction``:
outlets on another machine have another clock) and turns LSL times back into recording times:
regular streams from the counter and the announced starting time, irregular streams from their
LSL time stamps. ``arrival`` is the receipt time on the same clock.

Tests run publisher and receiver on one machine with ``LSLAPICFG`` pointing at a config with
``ResolveScope = machine`` and ``KnownPeers = {127.0.0.1}`` (:func:`write_machine_only_config`).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.tools.streaming.replay import Packet, Replay, StreamHeader
from weldfusion.tools.streaming.sources import queued_packets

#: Outlet name prefix (``weldfusion.video`` …).
PREFIX = "weldfusion"
#: Receive: stop when no packet came for this long (s) after the first one.
IDLE_S = 2.0


def write_machine_only_config(path: str | os.PathLike) -> Path:
    """An ``lsl_api.cfg`` that keeps LSL on this machine (resolve scope machine, loopback peer, no
    IPv6); point ``LSLAPICFG`` at it before ``pylsl`` is imported."""
    path = Path(path)
    path.write_text("[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\n"
                    "KnownPeers = {127.0.0.1}\n")
    return path


def _pylsl():
    import pylsl  # lazy: liblsl is loaded only by the LSL paths

    return pylsl


# -- publisher ------------------------------------------------------------------------------------------
def _outlet(pylsl, prefix: str, head: StreamHeader, meta: dict, n: int, lsl_t0: float, origin_s: float):
    width = 1 + int(np.prod(head.sample_shape, dtype=np.int64))
    info = pylsl.StreamInfo(f"{prefix}.{head.name}", head.name, width, head.rate, "double64",
                            f"{prefix}.{head.name}.{meta.get('recording_id', '')}")
    desc = {"modality": head.name, "kind": head.kind, "rate": head.rate, "starting_time": head.starting_time,
            "sample_shape": list(head.sample_shape), "dtype": str(head.dtype), "channel_names": list(head.channel_names),
            "units": head.units, "packet_samples": head.packet_samples, "n": n, "lsl_t0": lsl_t0, "origin_s": origin_s,
            "meta": {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}}
    info.desc().append_child_value("weldfusion", json.dumps(desc))
    return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)


def serve_lsl(recording: str | os.PathLike, *, prefix: str = PREFIX, names: Sequence[str] | None = None,
              speed: float = 1.0, stalls: dict | None = None, stop: threading.Event | None = None,
              ready: threading.Event | None = None, lead_s: float = 1.0, start_at: float | None = None) -> int:
    """Publish ``recording`` as LSL outlets at its native rates (``speed`` x real time); returns
    the packets sent. The outlets exist ``lead_s`` seconds before the first sample is sent (time
    for receivers to connect) — or until wall-clock time ``start_at`` (``time.time()``), which
    lets several publishers of one recording share its clock; ``ready`` is set then. ``stop``
    ends it early."""
    if not speed > 0:
        raise InvalidInput(f"--speed must be > 0, got {speed}")
    pylsl = _pylsl()
    stop = stop or threading.Event()
    with Replay(recording, names=names, stalls=stalls) as replay:
        lead = (start_at - time.time()) if start_at is not None else lead_s
        lsl_t0 = pylsl.local_clock() + lead - replay.origin_s / speed
        outlets = {n: _outlet(pylsl, prefix, h, replay.meta, replay.rec.streams[n].n, lsl_t0, replay.origin_s)
                   for n, h in replay.headers.items()}
        if ready is not None:
            ready.set()
        sent = 0
        for packet in replay.packets():
            due = lsl_t0 + packet.arrival / speed
            while not stop.is_set() and (wait := due - pylsl.local_clock()) > 0:
                time.sleep(min(wait, 0.05))
            if stop.is_set():
                break
            rows = np.concatenate([np.arange(packet.start, packet.start + len(packet.data), dtype=np.float64)[:, None],
                                   packet.data.reshape(len(packet.data), -1).astype(np.float64)], axis=1)
            outlet = outlets[packet.name]
            if replay.headers[packet.name].starting_time is None:  # irregular: one stamp per sample
                for row, t in zip(rows, packet.times, strict=True):
                    outlet.push_sample(row.tolist(), lsl_t0 + float(t) / speed)
            else:
                outlet.push_chunk(rows.tolist(), lsl_t0 + float(packet.times[-1]) / speed)
            sent += 1
        time.sleep(0.2)  # let the last chunks leave before the outlets close
        del outlets
    return sent


# -- receiver -----------------------------------------------------------------------------------------
class LslSource:
    """Live packets from weldfusion LSL outlets (``<prefix>.<modality>``), for the stream engine.

    Args:
        names: modalities to receive (default: every weldfusion outlet found).
        prefix: outlet name prefix.
        resolve_s: how long to look for outlets at the start; those of ``names`` not found are absent
            sensors until they appear (looked for again while receiving: a sensor plugged in late).
        idle_s: :meth:`packets` ends when no packet came for this long after the first.
    """

    def __init__(self, names: Sequence[str] | None = None, *, prefix: str = PREFIX, resolve_s: float = 5.0,
                 idle_s: float = IDLE_S) -> None:
        pylsl = self._pylsl = _pylsl()
        found: dict[str, object] = {}
        deadline = time.monotonic() + resolve_s
        if names is not None:  # by name: a short general resolve can miss outlets that answer late
            for name in names:
                left = max(0.1, deadline - time.monotonic())
                hits = pylsl.resolve_byprop("name", f"{prefix}.{name}", minimum=1, timeout=left)
                if hits:
                    found[name] = hits[0]
        else:
            for info in pylsl.resolve_streams(wait_time=min(resolve_s, 2.0)):
                if info.name().startswith(prefix + ".") and info.type() not in found:
                    found[info.type()] = info
        if not found:
            raise MissingInput(f"lsl:{prefix}.*: no weldfusion LSL outlet found within {resolve_s:g} s")
        self.path = f"lsl:{prefix}"
        self.prefix = prefix
        self.idle_s = idle_s
        self.inlets, self.headers, self._desc = {}, {}, {}
        for name, info in found.items():
            self._open(name, info)
        order = [n for n in (names or sorted(found)) if n in self.headers]
        self.names = tuple(order)
        first = self._desc[self.names[0]]
        self.meta = dict(first["meta"])
        self.lsl_t0 = float(first["lsl_t0"])
        self.origin_s = float(first["origin_s"])
        self._late = [n for n in (names or ()) if n not in found]  # looked for again while receiving
        self._start_receiving()

    def _outlet_name(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def _inlet(self, info):
        """``(inlet, full info)`` of outlet ``info``, its stream open (samples are buffered from now
        on, before :meth:`packets` runs); LSL reconnects the inlet by itself (``recover``)."""
        inlet = self._pylsl.StreamInlet(info, max_buflen=30, recover=True)
        full = inlet.info(timeout=5.0)
        inlet.open_stream(timeout=5.0)
        return inlet, full

    def _open(self, name: str, info) -> None:
        """Open the inlet of outlet ``info`` for modality ``name`` and set its header."""
        inlet, full = self._inlet(info)
        desc = json.loads(full.desc().child_value("weldfusion"))
        self._desc[name] = desc
        self.headers[name] = StreamHeader(
            name, desc["kind"], float(desc["rate"]), desc["starting_time"], tuple(desc["sample_shape"]),
            np.dtype(desc["dtype"]), tuple(desc["channel_names"]), desc["units"], int(desc["packet_samples"]))
        self.inlets[name] = inlet

    def _join_late(self) -> None:
        """Outlets asked for but not found at the start are watched for while the source runs (one
        LSL continuous resolver each, polled every 0.1 s); one that appears (a sensor plugged in
        late) is opened and received from then on: its header is set before its first packet, and
        the engine adds it to the windows (a ``joined`` sensor event)."""
        watch = {name: self._pylsl.ContinuousResolver(prop="name", value=self._outlet_name(name))
                 for name in self._late}
        while watch and not self._stop.wait(0.1):
            for name, resolver in list(watch.items()):
                hits = resolver.results()
                if hits:
                    self._open(name, hits[0])
                    del watch[name]
                    self._late.remove(name)
                    self._corrections[name] = 0.0
                    self._spawn(name)

    def _spawn(self, name: str) -> None:
        thread = threading.Thread(target=self._receive, args=(name,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _start_receiving(self) -> None:
        """The receiver state (after ``names`` and ``inlets`` are set)."""
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # per outlet, LSL's clock offset: local clock = outlet clock + correction (set by the receivers)
        self._corrections: dict[str, float] = {n: 0.0 for n in self.names}
        self._error: BaseException | None = None

    def _receive(self, name: str) -> None:
        self._guarded(self._receive_loop, name)

    def _guarded(self, work, *args) -> None:
        """Run a receiver thread's ``work``; a failure is handed to the consumer."""
        try:
            work(*args)
        except BaseException as err:  # noqa: BLE001 - re-raised in the consumer (a bug, not a silent sensor)
            self._error = err
            self._queue.put(None)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _receive_loop(self, name: str) -> None:
        inlet = self.inlets[name]
        # an outlet on this computer shares its LSL clock: its correction is 0, and LSL's estimate of
        # it would only add jitter (tens to hundreds of µs under load: a sample at 4 kHz)
        local = inlet.info(timeout=5.0).hostname() == socket.gethostname()
        while not local and not self._stop.is_set():  # an outlet that does not answer yet: its samples wait
            try:
                self._corrections[name] = inlet.time_correction(timeout=2.0)
                break
            except RuntimeError:  # pylsl's TimeoutError / LostError
                continue
        while not self._stop.is_set():
            rows, stamps = inlet.pull_chunk(timeout=0.05)
            if rows:
                for packet in self._packets_of(name, np.asarray(rows, dtype=np.float64),
                                               np.asarray(stamps, dtype=np.float64)):
                    self._queue.put(packet)

    def _packets_of(self, name: str, rows: np.ndarray, stamps: np.ndarray) -> list[Packet]:
        """One pulled chunk (``rows`` (n, 1 + values), ``stamps`` (n,) on the outlet's clock) as
        packets; a dropout inside the chunk (the counter jumps) splits it."""
        head, correction = self.headers[name], self._corrections[name]
        arrival = self._pylsl.local_clock() - correction - self.lsl_t0  # local -> outlet clock -> recording
        counters = rows[:, 0].astype(np.int64)
        out = []
        for part in np.split(np.arange(len(rows)), np.flatnonzero(np.diff(counters) != 1) + 1):
            data = rows[part, 1:].reshape(len(part), *head.sample_shape).astype(head.dtype)
            if head.starting_time is not None:
                times = head.starting_time + counters[part] / head.rate
            else:
                times = stamps[part] - self.lsl_t0
            out.append(Packet(name, int(counters[part[0]]), data, times, arrival))
        return out

    def packets(self) -> Iterator[Packet]:
        """Packets in arrival order until no sensor has sent anything for ``idle_s``."""
        self._threads = []
        for name in self.names:
            self._spawn(name)
        if self._late:
            joiner = threading.Thread(target=self._guarded, args=(self._join_late,), daemon=True)
            self._threads.append(joiner)
            joiner.start()
        yield from queued_packets(self._queue, self.idle_s, failed=self._raise)

    def now(self) -> float:
        """The current time on the recording clock (for latency)."""
        return self._pylsl.local_clock() - self._corrections[self.names[0]] - self.lsl_t0

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        for inlet in self.inlets.values():
            inlet.close_stream()

    def __enter__(self) -> LslSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
