"""Sliding-window inference on live sensor streams.

:class:`StreamEngine` consumes :class:`~weldfusion.tools.streaming.replay.Packet` s in arrival
order, keeps them in per-modality ring buffers and, every hop, runs the model on the latest
complete window:

- windows start at ``origin_s + k * hop_s`` (rounded to 1 ns as the offline dataset does) and end
  ``window_s`` later; window ``k`` is complete when every sensor that is alive has delivered all the
  samples the window reads; a sensor silent for longer than its timeout no longer holds windows
  back (:mod:`~weldfusion.tools.streaming.presence`) and is absent from the windows it does not cover;
- the window is assembled with the offline dataset's code (:mod:`~.window_assembler`) and fed to a
  backend (:class:`EagerBackend` or :class:`~.onnx_backend.OnnxBackend`);
- phase and defect probabilities are refined over the last windows with paper Eq. 49, and the
  refined defect probabilities drive the debounced alarms (:mod:`~.decisions`, the same code as
  ``weldfusion predict``).

Pacing: with ``realtime=True`` packets are delivered on the wall clock (stream time 0 =
``origin_s`` at the start) and, when inference falls behind, older complete windows are skipped
for the latest one. A hop is *on time* when its result is out before the next window is due,
i.e. within ``lag + hop_s`` of its window's end, ``lag`` being the nominal delay until a window's
samples have all arrived (:meth:`WindowAssembler.lag_s`); skipped windows count as late. Without
pacing every window is processed in order as fast as possible (same outputs as offline).

Per hop (:class:`HopResult`): window start/end, phase + probability (refined), refined and raw
probabilities, modality weights, presence mask, sensor status, open alarms and events,
``compute_ms`` (ingest of the hop's packets + assembly + inference + refinement) and
``latency_ms``: with pacing, wall-clock time from the window's end to its result; without,
equal to ``compute_ms``. The real-time factor is ``hop_s`` / mean ``compute_ms``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from weldfusion.datasets.resample import window_grid
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.fusion.localisation import box_modality
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.alarms import AlarmEvent, DefectAlarms
from weldfusion.tools.streaming.batch_one import faster_native, native_cpu_kernels
from weldfusion.tools.streaming.decisions import HopDecisions
from weldfusion.tools.streaming.example_inputs import example_inputs
from weldfusion.tools.streaming.presence import PresenceMonitor, SensorEvent
from weldfusion.tools.streaming.replay import Packet
from weldfusion.tools.streaming.window_assembler import WindowAssembler
from weldfusion.tools.training.localisation import BOX_SCORE, box_rows

OUTPUTS = ("phase_probs", "defect_probs", "modality_weights")


class EagerBackend:
    """``predict(inputs) -> {"phase_probs", "defect_probs", "modality_weights"}`` with the PyTorch model
    (on the device its parameters are on)."""

    name = "eager"

    def __init__(self, model: torch.nn.Module, info=None) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        #: the image modality of a box head, or None: with one, ``predict`` adds ``boxes``
        self.boxed = box_modality(model)
        #: batch-1 CPU calls run PyTorch's native kernels instead of oneDNN's: measured on the model's
        #: own input shapes (``info``, DataInfo) when given (:func:`~.batch_one.faster_native`), else off
        self.native_kernels = False
        self.kernel_ms: dict[str, float] = {}
        if info is not None and self.device.type == "cpu":
            batch = {k: torch.from_numpy(v) for k, v in example_inputs(info, batch=1).items()}
            with torch.inference_mode():
                self.native_kernels, self.kernel_ms = faster_native(lambda: self.model(batch))

    @property
    def kernels(self) -> str:
        """``native`` or ``onednn``: the CPU kernels of batch-1 calls."""
        return "native" if self.native_kernels else "onednn"

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """inputs: the model batch as arrays (batch axis first) -> the three outputs as (B, ...) arrays;
        with a box head also ``boxes``: per row None (its modality absent) or ``(frame_index, (Q, 6)
        [class, score, x0, y0, x1, y1])`` of the strongest kept frame (box in [0, 1] of the frame)."""
        batch = {k: torch.from_numpy(v).to(self.device) for k, v in inputs.items()}
        with torch.inference_mode(), native_cpu_kernels(self.native_kernels and len(inputs["present"]) == 1):
            out = self.model(batch)
        result = {k: out[k].float().cpu().numpy() for k in OUTPUTS}
        if self.boxed is not None:
            rows: list = [None] * len(inputs["present"])
            pred = out.get("localisation", {}).get(self.boxed)
            if pred is not None:
                boxes = box_rows(pred["det_logits"][:, 0], pred["det_boxes"][:, 0])  # (B_m, Q, 6)
                for i, row in enumerate(pred["rows"].tolist()):
                    if bool(pred["valid"][i]):
                        rows[row] = (int(pred["frame_index"][i, 0]), boxes[i])
            result["boxes"] = rows
        return result


@dataclass
class HopResult:
    """The output of one hop (probability vectors in taxonomy / presence-mask order)."""

    index: int
    t0: float
    t: float  # window end: the newest data the result is based on (seconds, recording clock)
    phase: str
    phase_prob: float
    phase_probs: np.ndarray  # (P,) refined (Eq. 49)
    defect_probs: np.ndarray  # (D,) refined (Eq. 49)
    raw_phase_probs: np.ndarray  # (P,) this window alone
    raw_defect_probs: np.ndarray  # (D,)
    modality_weights: np.ndarray  # (M,)
    present: np.ndarray  # (M,) bool
    sensors: dict[str, str]
    alarms: tuple[str, ...]
    events: list = field(default_factory=list)  # AlarmEvent / SensorEvent of this hop
    compute_ms: float = 0.0
    latency_ms: float = 0.0
    on_time: bool | None = None
    skipped: int = 0  # complete windows skipped just before this one (paced replay falling behind)
    #: with a box head (eager backend): the strongest frame's time (s) and its boxes with score >=
    #: BOX_SCORE, (K, 6) [class, score, x0, y0, x1, y1] in [0, 1] of the frame; None without a head
    box_frame_s: float | None = None
    boxes: np.ndarray | None = None


@dataclass
class StreamSummary:
    """Totals of a run."""

    hop_s: float
    realtime: bool
    hops: int = 0
    skipped: int = 0
    no_data: int = 0  # windows in which no sensor was present (no inference)
    on_time: int = 0
    stream_s: float = 0.0
    wall_s: float = 0.0
    compute_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    alarms: list[dict] = field(default_factory=list)
    sensor_events: list[SensorEvent] = field(default_factory=list)

    @property
    def on_time_share(self) -> float | None:
        """Share of due hops (processed + skipped) whose result was out in time (paced runs only)."""
        due = self.hops + self.skipped
        return self.on_time / due if self.realtime and due else None

    @property
    def realtime_factor(self) -> float:
        """Hop duration / mean processing time per hop."""
        return self.hop_s * 1000.0 / float(np.mean(self.compute_ms)) if self.compute_ms else math.nan

    def to_dict(self) -> dict:
        ms = np.asarray(self.compute_ms) if self.compute_ms else np.full(1, np.nan)
        lat = np.asarray(self.latency_ms) if self.latency_ms else np.full(1, np.nan)
        return {
            "hops": self.hops, "skipped": self.skipped, "no_data": self.no_data, "hop_s": self.hop_s,
            "realtime": self.realtime, "on_time_share": self.on_time_share,
            "realtime_factor": self.realtime_factor, "stream_s": self.stream_s, "wall_s": self.wall_s,
            "compute_ms": {"mean": float(ms.mean()), "p50": float(np.median(ms)), "p99": float(np.percentile(ms, 99)),
                           "max": float(ms.max())},
            "latency_ms": {"mean": float(lat.mean()), "p50": float(np.median(lat)),
                           "p99": float(np.percentile(lat, 99))},
            "alarms": self.alarms,
            "sensor_events": [vars(e) for e in self.sensor_events],
        }


class _Lookahead:
    """Iterator with one item of look-ahead."""

    def __init__(self, items: Iterable[Packet]) -> None:
        self._it: Iterator[Packet] = iter(items)
        self._next: Packet | None = None

    def peek(self) -> Packet | None:
        if self._next is None:
            self._next = next(self._it, None)
        return self._next

    def pop(self) -> Packet | None:
        item = self.peek()
        self._next = None
        return item


class StreamEngine:
    """Live inference over packets (see module docstring).

    Args:
        backend: :class:`EagerBackend` or :class:`~.onnx_backend.OnnxBackend`.
        assembler: ring buffers + window assembly for the model's modalities.
        phases, defects: class names (taxonomy order).
        hop_s: seconds between windows.
        origin_s: start of the first window (recording clock).
        timeout_s: a sensor silent this long is missing (at least 3 of its packet intervals).
        refine_window, refine_decay: Eq. 49 over this many windows with this decay.
        alarms: defect alarm state (None: no alarms).
    """

    def __init__(self, backend, assembler: WindowAssembler, phases: tuple[str, ...], defects: tuple[str, ...],
                 hop_s: float, origin_s: float = 0.0, timeout_s: float = 0.25, refine_window: int = 3,
                 refine_decay: float = 0.6, alarms: DefectAlarms | None = None, headers: dict | None = None) -> None:
        if not hop_s > 0:
            raise InvalidInput(f"hop_s must be > 0, got {hop_s}")
        self.backend = backend
        self.assembler = assembler
        self.phases, self.defects = tuple(phases), tuple(defects)
        self.hop_s = float(hop_s)
        self.origin_s = float(origin_s)
        self.window_s = assembler.window_s
        # the source's headers, looked up live: a sensor of a live source may join after the start
        self.headers = headers if headers is not None else {}
        self.timeout_s = float(timeout_s)
        self.timeouts = {n: self._timeout(self.headers.get(n)) for n in assembler.buffers}
        self.refine_window, self.refine_decay = refine_window, refine_decay
        self.alarms = alarms

    def _timeout(self, head) -> float:
        return max(self.timeout_s, 3.0 * (head.packet_s if head is not None else 0.0))

    def _boxes(self, out: dict, t0: float, inputs: dict) -> tuple[float | None, np.ndarray | None]:
        """``(box_frame_s, boxes)`` of a hop (see :class:`HopResult`); Nones without a box head."""
        rows = out.get("boxes")
        if rows is None:
            return None, None
        modality = getattr(self.backend, "boxed", None)
        if rows[0] is None or modality is None:
            return None, np.zeros((0, 6), np.float32)
        k, boxes = rows[0]
        frame_s = float(window_grid(t0, self.window_s, inputs[modality].shape[1])[k])
        return frame_s, boxes[boxes[:, 1] >= BOX_SCORE]

    def window_start(self, k: int) -> float:
        """Start of window ``k`` (as ``datasets.windows.window_starts``)."""
        return round(self.origin_s + k * self.hop_s, 9)

    def run(self, packets: Iterable[Packet], realtime: bool = False,
            on_result: Callable[[HopResult], None] | None = None,
            live_clock: Callable[[], float] | None = None) -> StreamSummary:
        """Consume ``packets`` (arrival order) and call ``on_result`` for every hop; returns the totals.

        ``live_clock``: for live sources (LSL, OPC UA, a camera), the current time on the recording
        clock (the source's ``now``); latency is then measured from each window's end to its
        result on that clock, and the on-time share is reported, as for a paced replay.
        """
        asm = self.assembler
        presence = PresenceMonitor(tuple(asm.buffers), self.timeouts, self.origin_s)
        decisions = HopDecisions(self.alarms, self.refine_window, self.refine_decay)
        summary = StreamSummary(self.hop_s, realtime or live_clock is not None)
        lag = asm.lag_s()
        source = _Lookahead(packets)
        state = {"k": 0, "ingest_s": 0.0, "events": []}
        wall0 = time.perf_counter()

        def clock() -> float:  # stream time on the wall clock (paced runs)
            return self.origin_s + (time.perf_counter() - wall0)

        def deliver(packet: Packet) -> None:
            buf = asm.buffers.get(packet.name)
            if buf is None:
                head = self.headers.get(packet.name)
                if head is None or packet.name not in asm.names:
                    return  # a stream the model has no use for
                asm.add_stream(head)  # a sensor that joins late: from now on in the windows
                buf = asm.buffers[packet.name]
                self.timeouts[packet.name] = self._timeout(head)
                state["events"].append(presence.join(packet.name, self.timeouts[packet.name], packet.arrival))
            t = time.perf_counter()
            buf.push(packet.start, packet.data, None if buf.regular else packet.times)
            state["ingest_s"] += time.perf_counter() - t
            event = presence.seen(packet.name, packet.arrival)
            if event is not None:
                state["events"].append(event)

        def complete(k: int, now: float) -> bool:
            t0 = self.window_start(k)
            if t0 + self.window_s > asm.frontier() + TIME_EPS:
                return False
            return all(asm.complete(n, t0) for n in asm.buffers if presence.alive(n, now))

        def process(k: int, skipped: int) -> None:
            t_start = time.perf_counter()
            t0 = self.window_start(k)
            t_end = t0 + self.window_s
            inputs = asm.assemble(t0)
            if not inputs["present"].any():
                summary.no_data += 1
                return
            out = self.backend.predict(inputs)
            raw_p, raw_d = out["phase_probs"][0], out["defect_probs"][0]
            weights = out.get("modality_weights")
            ref_p, ref_d, alarm_events = decisions.update(
                t_end, raw_p, raw_d, None if weights is None else weights[0], inputs["present"][0], asm.names)
            events: list[AlarmEvent | SensorEvent] = state["events"] + alarm_events
            state["events"] = []
            compute = time.perf_counter() - t_start + state["ingest_s"]
            state["ingest_s"] = 0.0
            if realtime or live_clock is not None:
                now_s = clock() if realtime else live_clock()
                latency = (now_s - t_end) * 1000.0
                on_time = now_s <= t_end + lag + self.hop_s
            else:
                latency, on_time = compute * 1000.0, None
            j = int(np.argmax(ref_p))
            result = HopResult(
                k, t0, t_end, self.phases[j], float(ref_p[j]), ref_p, ref_d, raw_p, raw_d,
                out["modality_weights"][0], inputs["present"][0].copy(),
                {n: presence.status(n) if n in asm.buffers else "absent" for n in asm.names},
                self.alarms.open_alarms if self.alarms is not None else (), events,
                compute * 1000.0, latency, on_time, skipped, *self._boxes(out, t0, inputs))
            summary.hops += 1
            summary.skipped += skipped
            summary.on_time += bool(on_time)
            summary.compute_ms.append(result.compute_ms)
            summary.latency_ms.append(latency)
            if on_result is not None:
                on_result(result)

        def windows(now: float) -> None:
            state["events"] += presence.update(now)
            while complete(state["k"], now):
                k = state["k"]
                if realtime:  # jump to the latest complete window
                    while complete(k + 1, now):
                        k += 1
                process(k, k - state["k"])
                state["k"] = k + 1
                if realtime:
                    now = max(now, clock())
                    drain(now)

        def drain(now: float) -> None:
            while (nxt := source.peek()) is not None and nxt.arrival <= now:
                deliver(source.pop())

        while (packet := source.pop()) is not None:
            if realtime:
                wait = packet.arrival - clock()
                if wait > 0:
                    time.sleep(wait)
            deliver(packet)
            now = packet.arrival
            if realtime:
                now = max(now, clock())
                drain(now)
            if now >= self.window_start(state["k"]) + self.window_s:  # before its end no window can be complete
                windows(now)
        presence.end()
        windows(math.inf)
        summary.wall_s = time.perf_counter() - wall0
        summary.stream_s = max(0.0, asm.frontier() - self.origin_s) if asm.buffers else 0.0
        summary.alarms = self.alarms.intervals() if self.alarms is not None else []
        summary.sensor_events = list(presence.events)
        return summary
