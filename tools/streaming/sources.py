"""Several live sources as one (e.g. process data over OPC UA, cameras and microphones over LSL).

A source is anything with ``names``, ``headers``, ``meta``, ``origin_s``, ``path``, ``packets()``
and ``close()`` — :class:`~.replay.Replay`, :class:`~.lsl.LslSource`,
:class:`~.opcua.OpcUaSource`. :class:`MergedSource` reads each in its own thread and hands their
packets on in arrival order (one clock: arrival times never go backwards); it ends when all have.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import ChainMap
from collections.abc import Iterator, Sequence

from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.replay import Packet

_DONE = object()


def queued_packets(packets: queue.Queue, idle_s: float, first_s: float = 30.0, failed=None,
                   waiting=None) -> Iterator[Packet]:
    """Packets put into ``packets`` by receiver threads, with arrival times made non-decreasing (one
    clock for all streams); ends when none came for ``idle_s`` after the first (``first_s`` before
    it). A ``None`` in the queue is a receiver's failure: ``failed()`` raises it. While
    ``waiting()`` is true (a receiver reconnecting to a lost server) silence does not count."""
    last, got_any, latest = time.monotonic(), False, float("-inf")
    while True:
        try:
            packet = packets.get(timeout=0.05)
        except queue.Empty:
            if waiting is not None and waiting():
                last = time.monotonic()
            if time.monotonic() - last > (idle_s if got_any else first_s):
                return
            continue
        if packet is None:
            if failed is not None:
                failed()
            return
        last, got_any = time.monotonic(), True
        latest = max(latest, packet.arrival)
        yield Packet(packet.name, packet.start, packet.data, packet.times, latest)


class MergedSource:
    """The union of ``sources`` (each modality from exactly one of them)."""

    def __init__(self, sources: Sequence) -> None:
        self.sources = list(sources)
        seen: set = set()
        for src in self.sources:
            clash = set(src.headers) & seen
            if clash:
                raise InvalidInput(f"{src.path}: {sorted(clash)[0]!r} is also received from another source")
            seen.update(src.headers)
        self.headers = ChainMap(*[src.headers for src in self.sources])  # live: a late sensor shows up
        self.names = tuple(n for src in self.sources for n in src.names)
        self.meta = next((dict(s.meta) for s in self.sources if s.meta), {})
        self.origin_s = min(s.origin_s for s in self.sources)
        self.path = " + ".join(str(s.path) for s in self.sources)
        self._errors: list[BaseException] = []

    def _pump(self, src, out: queue.Queue) -> None:
        try:
            for packet in src.packets():
                out.put(packet)
        except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
            self._errors.append(err)
        finally:
            out.put(_DONE)

    def packets(self) -> Iterator[Packet]:
        out: queue.Queue = queue.Queue()
        threads = [threading.Thread(target=self._pump, args=(s, out), daemon=True) for s in self.sources]
        for t in threads:
            t.start()
        running, latest = len(threads), float("-inf")
        while running:
            item = out.get()
            if item is _DONE:
                running -= 1
                continue
            if self._errors:
                raise self._errors[0]
            latest = max(latest, item.arrival)
            yield Packet(item.name, item.start, item.data, item.times, latest)
        if self._errors:
            raise self._errors[0]

    def now(self) -> float:
        """The current time on the recording clock: the first source's."""
        return self.sources[0].now()

    def close(self) -> None:
        for src in self.sources:
            src.close()

    def __enter__(self) -> MergedSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
