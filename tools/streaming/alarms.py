"""Debounced defect alarms with hysteresis.

Per defect class, on the (refined) defect probability of every hop:

- a closed alarm **opens** when the probability is above ``p_on`` for ``n_on`` consecutive hops;
  its start time is the time of the first of those hops;
- an open alarm **closes** when the probability is below ``p_off`` (<= ``p_on``) for ``m_off``
  consecutive hops; its end time is the time of the first of those hops.

Between ``p_off`` and ``p_on`` nothing changes state (hysteresis), and a single hop across a
threshold resets the opposite count (debouncing), so a flickering probability neither opens nor
closes an alarm.

**Evidence.** When the hops carry the fusion layer's modality weights and the presence mask, an
alarm remembers the sensors that carried it when it opened (its *support*: the present sensors
whose weight is at least :data:`SUPPORT_RATIO` of the largest). While none of them is present
the alarm is **held** — still open, but marked: its probability comes from sensors that did not
see the defect (a ``held`` event; ``resumed`` when a supporting sensor is back). An alarm that
closes while held — or within ``m_off`` hops of its sensors' return, i.e. the defect had ended
unobserved — ends at the hop where its evidence was lost (``held_from_s``), not at the later
close: the held stretch is unknown, not defect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.defaults import M_OFF, N_ON

#: A present sensor supports an opening alarm if its modality weight is at least this share of
#: the largest weight of that hop.
SUPPORT_RATIO = 0.5


@dataclass(frozen=True)
class AlarmEvent:
    """An alarm of ``defect`` opened (``kind="open"``), closed (``"close"``), held (``"held"``: its
    supporting sensors are gone) or resumed (``"resumed"``) at hop time ``at_s``.

    ``start_s``: time of the first hop above ``p_on``; ``end_s``: time of the first hop below
    ``p_off`` (close events only); ``peak``: highest probability while open so far; ``support``:
    the sensors that carried the alarm when it opened (empty when the hops carry no weights).
    """

    defect: str
    kind: str
    at_s: float
    start_s: float
    end_s: float | None
    peak: float
    support: tuple[str, ...] = ()
    held_from_s: float | None = None  # close events: the alarm ended unobserved, evidence lost here


def _per_class(value: float | Sequence[float], n: int, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    out = np.full(n, float(arr)) if arr.ndim == 0 else arr
    if out.shape != (n,):
        raise InvalidInput(f"{what}: {len(out)} values for {n} defect classes")
    if not np.all(np.isfinite(out)) or np.any((out <= 0) | (out >= 1)):
        raise InvalidInput(f"{what} must lie in (0, 1), got {out.tolist()}")
    return out


class DefectAlarms:
    """Alarm state of every defect class.

    Args:
        names: defect classes (order of the probability vectors).
        p_on: opening threshold(s), one for all or one per class.
        p_off: closing threshold(s), each <= the class's ``p_on``.
        n_on: consecutive hops above ``p_on`` that open an alarm.
        m_off: consecutive hops below ``p_off`` that close it.
    """

    def __init__(self, names: Sequence[str], p_on: float | Sequence[float], p_off: float | Sequence[float],
                 n_on: int = N_ON, m_off: int = M_OFF) -> None:
        self.names = tuple(names)
        self.p_on = _per_class(p_on, len(self.names), "alarm p_on")
        self.p_off = _per_class(p_off, len(self.names), "alarm p_off")
        if np.any(self.p_off > self.p_on):
            raise InvalidInput(f"alarm p_off {self.p_off.tolist()} must not exceed p_on {self.p_on.tolist()}")
        if n_on < 1 or m_off < 1:
            raise InvalidInput(f"alarm hop counts must be >= 1, got n_on={n_on}, m_off={m_off}")
        self.n_on, self.m_off = n_on, m_off
        d = len(self.names)
        self.is_open = np.zeros(d, dtype=bool)
        self._count = np.zeros(d, dtype=np.int64)  # consecutive hops towards the other state
        self._first = np.zeros(d)  # time of the first of those hops
        self._start = np.zeros(d)  # start time of the open alarm
        self._peak = np.zeros(d)
        self.is_held = np.zeros(d, dtype=bool)
        self._held_from = np.zeros(d)
        self._hop = 0
        self._first_hop = np.zeros(d, dtype=np.int64)
        self._resume_hop = np.full(d, -(1 << 40), dtype=np.int64)
        self._last_held_from = np.zeros(d)
        self._support: list[np.ndarray | None] = [None] * d
        self.events: list[AlarmEvent] = []

    def update(self, t: float, probs: np.ndarray, weights: np.ndarray | None = None,
               present: np.ndarray | None = None, sensors: Sequence[str] = ()) -> list[AlarmEvent]:
        """Feed the probabilities (D,) of the hop at time ``t``; returns the events of this hop.

        ``weights`` (M,) modality weights and ``present`` (M,) bool of the hop's window, sensors
        named by ``sensors``, turn on the evidence tracking (module docstring).
        """
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (len(self.names),):
            raise ValueError(f"expected {len(self.names)} defect probabilities, got shape {probs.shape}")
        out = []
        self._hop += 1
        tracked = weights is not None and present is not None
        if tracked:
            present = np.asarray(present, dtype=bool)
            w = np.where(present, np.asarray(weights, dtype=np.float64), 0.0)
        for k, p in enumerate(probs):
            if self.is_open[k]:
                self._peak[k] = max(self._peak[k], p)
                crossing = p < self.p_off[k]
            else:
                crossing = p > self.p_on[k]
            if not crossing:
                self._count[k] = 0
                continue
            if self._count[k] == 0:
                self._first[k] = t
                self._first_hop[k] = self._hop
            self._count[k] += 1
            if not self.is_open[k] and self._count[k] >= self.n_on:
                self.is_open[k] = True
                self._start[k] = self._first[k]
                self._peak[k] = p
                self._count[k] = 0
                support = None
                if tracked and w.max() > 0:
                    support = np.flatnonzero(w >= SUPPORT_RATIO * w.max())
                self._support[k] = support
                self._resume_hop[k] = -(1 << 40)
                out.append(AlarmEvent(self.names[k], "open", float(t), float(self._first[k]), None, float(p),
                                      self._support_names(k, sensors)))
            elif self.is_open[k] and self._count[k] >= self.m_off:
                self.is_open[k] = False
                self._count[k] = 0
                held_from = None
                if self.is_held[k]:
                    held_from = float(self._held_from[k])
                elif self._first_hop[k] <= self._resume_hop[k] + self.m_off:
                    held_from = float(self._last_held_from[k])
                end = float(self._first[k]) if held_from is None else min(float(self._first[k]), held_from)
                out.append(AlarmEvent(self.names[k], "close", float(t), float(self._start[k]), end,
                                      float(self._peak[k]), self._support_names(k, sensors), held_from))
        if tracked:
            out += self._evidence(t, present, sensors)
        self.events.extend(out)
        return out

    def _support_names(self, k: int, sensors: Sequence[str]) -> tuple[str, ...]:
        support = self._support[k]
        if support is None or not sensors:
            return ()
        return tuple(sensors[i] for i in support)

    def _evidence(self, t: float, present: np.ndarray, sensors: Sequence[str]) -> list[AlarmEvent]:
        """Held / resumed events of the open alarms whose supporting sensors left or came back."""
        out = []
        for k in range(len(self.names)):
            support = self._support[k]
            if not self.is_open[k]:
                if self.is_held[k]:  # closed while held: the hold ends with the alarm
                    self.is_held[k] = False
                continue
            if support is None:
                continue
            seen = bool(present[support].any())
            if not seen and not self.is_held[k]:
                self.is_held[k] = True
                self._held_from[k] = t
                out.append(AlarmEvent(self.names[k], "held", float(t), float(self._start[k]), None,
                                      float(self._peak[k]), self._support_names(k, sensors)))
            elif seen and self.is_held[k]:
                self.is_held[k] = False
                self._resume_hop[k] = self._hop
                self._last_held_from[k] = self._held_from[k]
                out.append(AlarmEvent(self.names[k], "resumed", float(t), float(self._start[k]), None,
                                      float(self._peak[k]), self._support_names(k, sensors)))
        return out

    @property
    def open_alarms(self) -> tuple[str, ...]:
        """Defects whose alarm is open (a held one as ``"<defect>(held)"``)."""
        return tuple(f"{n}(held)" if h else n for n, o, h in zip(self.names, self.is_open, self.is_held) if o)

    def intervals(self) -> list[dict]:
        """Every alarm so far: ``{"defect", "start_s", "end_s" (None while open), "peak", "support",
        "held_from_s"}``. ``held_from_s`` is the hop time its supporting sensors were lost if the
        alarm ended unobserved (module docstring) or is still held; ``end_s`` is then that time."""
        out, open_at = [], {}
        for e in self.events:
            if e.kind == "open":
                open_at[e.defect] = len(out)
                out.append({"defect": e.defect, "start_s": e.start_s, "end_s": None, "peak": e.peak,
                            "support": list(e.support), "held_from_s": None})
            elif e.kind == "held":
                out[open_at[e.defect]]["held_from_s"] = e.at_s
            elif e.kind == "resumed":
                out[open_at[e.defect]]["held_from_s"] = None
            else:
                out[open_at.pop(e.defect)].update(end_s=e.end_s, peak=e.peak, held_from_s=e.held_from_s)
        for name, i in open_at.items():
            out[i]["peak"] = float(self._peak[self.names.index(name)])
            if out[i]["held_from_s"] is not None:
                out[i]["end_s"] = out[i]["held_from_s"]
        return out
