"""What ``weldfusion stream`` writes: per-hop rows (CSV / JSONL, atomically), the live console line.

CSV columns: ``t_s`` (window end), ``t0_s``, ``phase``, ``phase_prob``, ``defect_<d>`` (refined
probabilities), ``weight_<m>`` (modality weights), ``present_<m>`` (0/1), ``sensor_<m>`` (ok /
missing / ended / absent), ``alarms`` (open alarms, ``;``-separated), ``latency_ms``,
``compute_ms``, ``on_time`` (1/0, empty without ``--realtime``), ``skipped``; with a box head (eager
backend) also ``box_frame_s`` and ``boxes`` (JSON: class, score, ``xyxy`` in [0, 1] of the frame, of
the window's strongest frame; score >= 0.5). JSONL rows hold the same as nested objects plus the
raw (unrefined) probabilities and the hop's alarm/sensor events.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.files import temporary_name
from weldfusion.sensors.boxes import CLASSES as BOX_CLASSES
from weldfusion.tools.streaming.alarms import AlarmEvent
from weldfusion.tools.streaming.engine import HopResult
from weldfusion.tools.streaming.presence import SensorEvent

FORMATS = (".csv", ".jsonl")


def _r(x: float, nd: int = 6) -> float:
    return round(float(x), nd)


def event_dict(e: AlarmEvent | SensorEvent) -> dict:
    """An event as plain data (``type`` alarm / sensor)."""
    if isinstance(e, AlarmEvent):
        return {"type": "alarm", "defect": e.defect, "kind": e.kind, "at_s": _r(e.at_s), "start_s": _r(e.start_s),
                "end_s": None if e.end_s is None else _r(e.end_s), "peak": _r(e.peak, 4), "support": list(e.support),
                "held_from_s": None if e.held_from_s is None else _r(e.held_from_s)}
    return {"type": "sensor", "name": e.name, "kind": e.kind, "time_s": _r(e.time_s)}


def csv_row(r: HopResult, defects: tuple[str, ...], names: tuple[str, ...]) -> dict:
    row = {"t_s": _r(r.t), "t0_s": _r(r.t0), "phase": r.phase, "phase_prob": _r(r.phase_prob)}
    row.update({f"defect_{d}": _r(p) for d, p in zip(defects, r.defect_probs)})
    row.update({f"weight_{m}": _r(w) for m, w in zip(names, r.modality_weights)})
    row.update({f"present_{m}": int(p) for m, p in zip(names, r.present)})
    row.update({f"sensor_{m}": r.sensors[m] for m in names})
    row.update({"alarms": ";".join(r.alarms), "latency_ms": _r(r.latency_ms, 3), "compute_ms": _r(r.compute_ms, 3),
                "on_time": "" if r.on_time is None else int(r.on_time), "skipped": r.skipped})
    if r.boxes is not None:
        row.update(box_frame_s="" if r.box_frame_s is None else _r(r.box_frame_s), boxes=json.dumps(box_dicts(r.boxes)))
    return row


def box_dicts(boxes) -> list[dict]:
    """(K, 6) ``[class, score, x0, y0, x1, y1]`` -> ``[{"class", "score", "xyxy"}, ...]`` (the JSON of the outputs)."""
    return [{"class": BOX_CLASSES[int(b[0])], "score": round(float(b[1]), 3), "xyxy": [round(float(v), 4) for v in b[2:6]]}
            for b in boxes]


def json_row(r: HopResult, phases: tuple[str, ...], defects: tuple[str, ...], names: tuple[str, ...]) -> dict:
    return {
        "t_s": _r(r.t), "t0_s": _r(r.t0), "phase": r.phase, "phase_prob": _r(r.phase_prob),
        "phase_probs": {p: _r(v) for p, v in zip(phases, r.phase_probs)},
        "defect_probs": {d: _r(v) for d, v in zip(defects, r.defect_probs)},
        "raw": {"phase_probs": {p: _r(v) for p, v in zip(phases, r.raw_phase_probs)},
                "defect_probs": {d: _r(v) for d, v in zip(defects, r.raw_defect_probs)}},
        "modality_weights": {m: _r(w) for m, w in zip(names, r.modality_weights)},
        "present": {m: bool(p) for m, p in zip(names, r.present)},
        "sensors": dict(r.sensors), "alarms": list(r.alarms), "events": [event_dict(e) for e in r.events],
        "latency_ms": _r(r.latency_ms, 3), "compute_ms": _r(r.compute_ms, 3), "on_time": r.on_time,
        "skipped": r.skipped,
        **({} if r.boxes is None else {"box_frame_s": r.box_frame_s, "boxes": box_dicts(r.boxes)}),
    }


class RowWriter:
    """Rows to ``path`` (``.csv`` or ``.jsonl``) via a temporary file renamed by :meth:`commit`."""

    def __init__(self, path: Path, phases: tuple[str, ...], defects: tuple[str, ...], names: tuple[str, ...]) -> None:
        if path.suffix not in FORMATS:
            raise InvalidInput(f"{path}: output must end in .csv or .jsonl")
        self.path, self.phases, self.defects, self.names = path, phases, defects, names
        self.tmp = temporary_name(path)
        self._fh: TextIO = open(self.tmp, "w", newline="")  # noqa: SIM115 - closed in commit/abort
        self._csv: csv.DictWriter | None = None
        self.rows = 0

    def write(self, r: HopResult) -> None:
        if self.path.suffix == ".jsonl":
            self._fh.write(json.dumps(json_row(r, self.phases, self.defects, self.names)) + "\n")
        else:
            row = csv_row(r, self.defects, self.names)
            if self._csv is None:
                self._csv = csv.DictWriter(self._fh, fieldnames=list(row))
                self._csv.writeheader()
            self._csv.writerow(row)
        self.rows += 1

    def commit(self) -> None:
        """Flush, sync and rename onto the output; on failure (a full disk) nothing is left."""
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Discard the rows (the temporary file is removed even if its buffered rows cannot be flushed)."""
        try:
            self._fh.close()
        except OSError:
            pass
        finally:
            self.tmp.unlink(missing_ok=True)


class ConsoleLine:
    """The live status line: rewritten in place with a carriage return on a terminal (at most
    ``max_hz`` times a second); elsewhere one line per ``every_s`` seconds of stream. Events
    (alarms, sensors lost / back) are printed on lines of their own."""

    def __init__(self, names: tuple[str, ...], defects: tuple[str, ...], stream: TextIO | None = None,
                 max_hz: float = 20.0, every_s: float = 1.0) -> None:
        self.out = stream or sys.stdout
        self.tty = self.out.isatty()
        self.names, self.defects = names, defects
        self.min_wall = 1.0 / max_hz
        self.every_s = every_s
        self._last_wall = -1e9
        self._last_t = -1e9
        self._width = 0

    def text(self, r: HopResult) -> str:
        sensors = "".join(m[0].upper() if p else ("-" if r.sensors[m] != "missing" else "x")
                          for m, p in zip(self.names, r.present))
        top = sorted(zip(r.defect_probs, self.defects), reverse=True)[:2]
        defects = " ".join(f"{d} {p:.2f}" for p, d in top)
        alarms = ",".join(r.alarms) or "-"
        return (f"t {r.t:7.2f} s | {r.phase:<16} {r.phase_prob:.2f} | {defects} | alarms {alarms} | "
                f"sensors {sensors} | {r.latency_ms:6.1f} ms")

    def update(self, r: HopResult) -> None:
        for e in r.events:
            self.event(e)
        now = time.perf_counter()
        if self.tty:
            if now - self._last_wall >= self.min_wall:
                line = self.text(r)
                self.out.write("\r" + line.ljust(self._width))
                self.out.flush()
                self._width = len(line)
                self._last_wall = now
        elif r.t - self._last_t >= self.every_s - 1e-9:
            print(self.text(r), file=self.out, flush=True)
            self._last_t = r.t

    def event(self, e: AlarmEvent | SensorEvent) -> None:
        if isinstance(e, AlarmEvent):
            support = f", seen by {'+'.join(e.support)}" if e.support else ""
            if e.kind == "open":
                msg = f"[t {e.at_s:7.2f} s] ALARM {e.defect} opened (since {e.start_s:.2f} s, p {e.peak:.2f}{support})"
            elif e.kind == "held":
                msg = (f"[t {e.at_s:7.2f} s] alarm {e.defect} HELD: {'+'.join(e.support)} no longer present, "
                       "its state is unknown")
            elif e.kind == "resumed":
                msg = f"[t {e.at_s:7.2f} s] alarm {e.defect} resumed ({'+'.join(e.support)} back)"
            else:
                unseen = (f"; ended unobserved: {'+'.join(e.support)} lost at {e.held_from_s:.2f} s"
                          if e.held_from_s is not None else "")
                msg = (f"[t {e.at_s:7.2f} s] alarm {e.defect} closed ({e.start_s:.2f}-{e.end_s:.2f} s, "
                       f"peak {e.peak:.2f}{unseen})")
        else:
            what = {"lost": "lost (timeout)", "joined": "joined late"}.get(e.kind, e.kind)
            msg = f"[t {e.time_s:7.2f} s] sensor {e.name} {what}"
        self.finish()
        print(msg, file=self.out, flush=True)

    def finish(self) -> None:
        """End the carriage-return line (before other output)."""
        if self.tty and self._width:
            self.out.write("\n")
            self.out.flush()
            self._width = 0
