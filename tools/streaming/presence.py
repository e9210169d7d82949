"""Sensor liveness: a sensor that stops delivering is marked missing after a timeout.

:class:`PresenceMonitor` tracks, per modality, the arrival time of the last packet. A sensor is
``ok`` while its last packet is at most ``timeout`` seconds old (a sensor never heard from counts
from the start of the stream), ``missing`` after that, and ``ok`` again with its next packet;
``ended`` once its stream is over (end of a replay). The engine waits for ``ok`` sensors only:
a missing sensor no longer holds the latest window back, and the windows it does not cover are
assembled with its presence-mask column cleared (the model carries on with the rest, see
:class:`~weldfusion.tools.streaming.window_assembler.WindowAssembler`).

Transitions are kept as :class:`SensorEvent` (``lost`` at the time the timeout expired, ``back``
at the arrival of the first packet after it, ``joined`` for a sensor that appears in a live
stream after it started).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from weldfusion.recipes.errors import InvalidInput

OK, MISSING, ENDED = "ok", "missing", "ended"


@dataclass(frozen=True)
class SensorEvent:
    """``name`` went ``lost`` or came ``back`` at ``time_s`` (stream clock)."""

    name: str
    kind: str
    time_s: float


def _timeout(name: str, value: float | None) -> float:
    """A sensor's timeout (s), which must be > 0."""
    if value is None or not value > 0:
        raise InvalidInput(f"timeout of {name} must be > 0 s, got {value}")
    return float(value)


class PresenceMonitor:
    """Liveness of each sensor from packet arrival times.

    Args:
        names: monitored modalities.
        timeout_s: seconds without a packet after which a sensor is missing, one value for all or
            per modality.
        start_s: stream time at which monitoring starts (a silent sensor times out from here).
    """

    def __init__(self, names: Sequence[str], timeout_s: float | dict[str, float], start_s: float = 0.0) -> None:
        self.names = tuple(names)
        timeouts = timeout_s if isinstance(timeout_s, dict) else {n: timeout_s for n in self.names}
        self.timeout_s = {n: _timeout(n, timeouts.get(n)) for n in self.names}
        self._last = {n: float(start_s) for n in self.names}
        self._ended: set[str] = set()
        self._lost: set[str] = set()
        self.events: list[SensorEvent] = []

    def join(self, name: str, timeout_s: float, time_s: float) -> SensorEvent:
        """Sensor ``name`` starts delivering at ``time_s``, after the stream began (a late outlet)."""
        self.timeout_s[name] = _timeout(name, timeout_s)
        self.names = (*self.names, name) if name not in self.names else self.names
        self._last[name] = float(time_s)
        self._lost.discard(name)
        event = SensorEvent(name, "joined", float(time_s))
        self.events.append(event)
        return event

    def seen(self, name: str, time_s: float) -> SensorEvent | None:
        """A packet of ``name`` arrived at ``time_s``; returns the ``back`` event if it had been lost."""
        if name not in self._last:
            return None
        self._last[name] = time_s
        if name in self._lost:
            self._lost.discard(name)
            event = SensorEvent(name, "back", time_s)
            self.events.append(event)
            return event
        return None

    def end(self, name: str | None = None) -> None:
        """The stream of ``name`` (None: every stream) is over."""
        self._ended.update(self.names if name is None else (name,))

    def alive(self, name: str, now_s: float) -> bool:
        """``name`` delivered within its timeout before ``now_s`` (and has not ended)."""
        return name not in self._ended and now_s - self._last[name] <= self.timeout_s[name]

    def update(self, now_s: float) -> list[SensorEvent]:
        """Mark sensors whose timeout expired by ``now_s`` as lost; returns the new ``lost`` events."""
        out = []
        for n in self.names:
            if n not in self._lost and n not in self._ended and not self.alive(n, now_s):
                self._lost.add(n)
                out.append(SensorEvent(n, "lost", self._last[n] + self.timeout_s[n]))
        self.events.extend(out)
        return out

    def status(self, name: str) -> str:
        """``ok``, ``missing`` or ``ended`` as of the last :meth:`update` / :meth:`seen`."""
        if name in self._ended:
            return ENDED
        return MISSING if name in self._lost else OK
