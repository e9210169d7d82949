"""One simulated weld run -> one weldfusion HDF5 recording.

:func:`simulate_run` draws the scenario, runs the four sensor simulators (a friction stir weld:
video, IR, microphone and the FSW machine's data instead of the arc's DAQ), then applies the
real-world mess of a lab recording:

* a missing sensor: with probability ``missing_prob`` one modality is absent from the file;
* dropouts: each stream has, with probability ``gap_prob``, one or two gaps of 0.05-0.4 s written
  to ``/streams/<m>/gaps``; inside a gap video/acoustic samples are 0, thermal frames and
  electrical samples hold the last valid value (what the DAQ buffers do);
* clock offsets: each sensor's own clock runs ``sim_clock_offset_s`` ahead of the recording
  clock (the process data — electrical, or the FSW machine — are the reference, 0). The HDF5 data
  are aligned on the recording clock; the attribute is the truth a raw export applies and
  ``weldfusion sync`` should recover;
* sensor noise (inside each simulator).

Ground truth for attention attribution goes to ``/truth``: ``video_arc_xy`` (N_video, 2) and
``thermal_source_xy`` (N_thermal, 2) pixel (column, row) positions of the arc / heat source,
``short_circuits`` (K, 2) [start, end) s (GMAW), ``heat_input`` (M,) kJ/mm and ``torch_x_mm`` (M,)
(distance the torch has travelled, mm — the truth of the seam positions of ``weldfusion predict``)
on the 1 kHz control grid, and ``video_boxes`` / ``thermal_boxes`` (K, 6) ``[frame, class, x0, y0,
x1, y1]`` px of every visible object in the video / IR frames (:mod:`weldfusion.sensors.boxes`;
class names in the group attribute ``box_classes``) and ``video_motion`` (N_video, H, ceil(W/8))
uint8, the per-pixel motion truth packed along rows (:class:`weldfusion.sensors.video.simulate.VideoSim`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from weldfusion.datasets.schema import RecordingMeta
from weldfusion.datasets.writer import RecordingWriter
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import LabelInterval, process_taxonomy
from weldfusion.sensors.acoustic import simulate as acoustic_sim
from weldfusion.sensors.boxes import CLASSES as BOX_CLASSES
from weldfusion.sensors.electrical import CHANNEL_UNITS, CHANNELS
from weldfusion.sensors.electrical import simulate as electrical_sim
from weldfusion.sensors.electrical.physics import heat_input, heat_input_from_power, process_efficiency
from weldfusion.sensors.emission import simulate as emission_sim
from weldfusion.sensors.fsw_machine import CHANNEL_UNITS as FSW_MACHINE_UNITS
from weldfusion.sensors.fsw_machine import CHANNELS as FSW_MACHINE_CHANNELS
from weldfusion.sensors.fsw_machine import simulate as fsw_machine_sim
from weldfusion.sensors.laser_monitor import CHANNEL_UNITS as LASER_MONITOR_UNITS
from weldfusion.sensors.laser_monitor import CHANNELS as LASER_MONITOR_CHANNELS
from weldfusion.sensors.laser_monitor import simulate as laser_monitor_sim
from weldfusion.sensors.materials import get_pair
from weldfusion.sensors.registry import modality_names
from weldfusion.sensors.scenario import (
    CONTROL_RATE,
    DefectEvent,
    Scenario,
    make_scenario,
    run_entropy,
)
from weldfusion.sensors.thermal import simulate as thermal_sim
from weldfusion.sensors.video import simulate as video_sim

SOURCE = "weldfusion-synth"
SIM_VERSION = 4
#: Side of the simulated high-speed camera's field of view (mm); ``--video-size`` changes the pixels only.
VIDEO_FIELD_MM = 16.0
SIMULATED = ("video", "thermal", "acoustic", "electrical")  # the sensors of every arc/beam run (AE by option)
#: The sensors of every friction stir weld: the machine's process data instead of an arc's.
SIMULATED_FSW = ("video", "thermal", "acoustic", "fsw_machine")
#: The camera on an FSW cell sees this many times the arc camera's field of view (a 12-15 mm shoulder must fit).
FSW_FIELD_FACTOR = 3.0


def simulated_sensors(process: str) -> tuple[str, ...]:
    """The sensors every simulated run of ``process`` has (before the mess removes one); the last is
    the process data, whose clock is the recording clock."""
    return SIMULATED_FSW if process == "FSW" else SIMULATED
#: Lowest acoustic-emission rate the simulator takes (Hz).
AE_MIN_RATE = 50_000.0


@dataclass(frozen=True)
class SimConfig:
    """Rates, sizes and mess of simulated runs (demo defaults; realistic rates by option).

    ``duration_s`` is a (min, max) range drawn per run. ``ae_rate`` 0 = no acoustic-emission sensor (``emission`` stream).
    """

    duration_s: tuple[float, float] = (8.0, 12.0)
    video_rate: float = 250.0
    video_shape: tuple[int, int] = (64, 64)
    video_mm_per_px: float = VIDEO_FIELD_MM / 64
    thermal_rate: float = 50.0
    thermal_shape: tuple[int, int] = (40, 64)
    thermal_mm_per_px: float = 0.8
    acoustic_rate: float = 16_000.0
    ae_rate: float = 0.0
    laser_monitor_rate: float = 10_000.0
    fsw_machine_rate: float = 1_000.0
    electrical_rate: float = 5_000.0
    missing_prob: float = 0.15
    gap_prob: float = 0.25
    max_clock_offset_s: float = 0.03
    spatter_scale: float = 1.0  # >= 1: background spatter x this (a harder condition)
    video_noise_scale: float = 1.0  # camera shot + read noise x this

    def __post_init__(self) -> None:
        lo, hi = self.duration_s
        if not (0 < lo <= hi):
            raise InvalidInput(f"duration range must satisfy 0 < min <= max, got {self.duration_s}")
        for key in ("video_rate", "thermal_rate", "acoustic_rate", "electrical_rate", "laser_monitor_rate",
                    "fsw_machine_rate"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) > 0):
                raise InvalidInput(f"{key} must be > 0 Hz, got {getattr(self, key)}")
        if self.ae_rate < 0 or (self.ae_rate and self.ae_rate < AE_MIN_RATE):
            raise InvalidInput(f"ae_rate must be 0 (off) or >= {AE_MIN_RATE:.0f} Hz (AE hits ring at 120-300 kHz), "
                               f"got {self.ae_rate}")
        for key in ("missing_prob", "gap_prob"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise InvalidInput(f"{key} must be in [0, 1], got {getattr(self, key)}")
        if self.max_clock_offset_s < 0:
            raise InvalidInput("max_clock_offset_s must be >= 0")
        if not (math.isfinite(self.spatter_scale) and 1.0 <= self.spatter_scale <= 100.0):
            raise InvalidInput(f"spatter_scale must be 1-100, got {self.spatter_scale}")
        if not (math.isfinite(self.video_noise_scale) and 0.0 <= self.video_noise_scale <= 100.0):
            raise InvalidInput(f"video_noise_scale must be 0-100, got {self.video_noise_scale}")


@dataclass
class StreamData:
    """One simulated stream as it goes into the file (regular, starting at 0 s)."""

    data: np.ndarray
    rate: float
    units: str
    sensor: str
    channel_names: list[str] | None = None
    channel_units: list[str] | None = None
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    clock_offset_s: float = 0.0


@dataclass
class SimulatedRun:
    recording_id: str
    meta: RecordingMeta
    streams: dict[str, StreamData]
    phases: list[LabelInterval]
    defects: list[LabelInterval]
    truth: dict[str, np.ndarray]
    scenario: Scenario
    missing: list[str]
    config: SimConfig


def recording_id(pair: str, process: str, index: int) -> str:
    """``al-steel_gmaw_0003`` style ids."""
    return f"{pair.lower()}_{process.lower()}_{index:04d}"


def _apply_gaps(rng: np.random.Generator, s: StreamData, duration: float, prob: float, hold: bool) -> None:
    """Draw 0-2 dropouts, snap them to sample boundaries and blank/hold the data inside (in place)."""
    u = rng.uniform(size=6)  # always the same number of draws: the mess of one stream is independent of the others
    if u[0] >= prob or duration < 1.5:
        return
    gaps = []
    for k in range(1 + int(u[1] < 0.35)):
        dur = 0.05 + 0.35 * u[2 + 2 * k]
        start = 0.5 + u[3 + 2 * k] * max(duration - 1.0 - dur, 0.0)
        i0 = int(np.ceil(start * s.rate))
        i1 = min(int(np.ceil((start + dur) * s.rate)), s.data.shape[0])
        if i1 <= i0:
            continue
        if hold and i0 > 0:
            s.data[i0:i1] = s.data[i0 - 1]
        else:
            s.data[i0:i1] = 0
        gaps.append((i0 / s.rate, i1 / s.rate))
    if gaps:
        gaps.sort()
        merged = [list(gaps[0])]
        for g0, g1 in gaps[1:]:
            if g0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], g1)
            else:
                merged.append([g0, g1])
        s.gaps = np.asarray(merged, dtype=np.float64)


def simulate_run(
    pair: str,
    process: str | None = None,
    index: int = 0,
    seed: int = 0,
    config: SimConfig = SimConfig(),
    defects: Sequence[DefectEvent] | None = None,
    duration_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulatedRun:
    """Simulate run ``index`` of ``pair`` (deterministic in (seed, pair, process, index, config)).

    Args:
        defects: force this defect list (None = draw 0-3 defects).
        duration_s: force the run length (None = draw from ``config.duration_s``).
        progress: called with a stage name after each stage (for progress bars).
    """
    spec = get_pair(pair)
    process = process or spec.default_process
    spec.params(process)  # unsupported process -> ValueError now
    entropy = run_entropy(seed, spec.name, process, index)
    mess = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(99,)))
    if duration_s is None:
        duration_s = float(mess.uniform(*config.duration_s))
    scn = make_scenario(spec, process, duration_s, entropy, defects=defects)
    step = progress or (lambda _stage: None)

    fsw = scn.is_fsw
    video_mm_per_px = config.video_mm_per_px * (FSW_FIELD_FACTOR if fsw else 1.0)
    streams: dict[str, StreamData] = {}
    wave = None
    if not fsw:  # an FSW machine has no arc: its process data are the machine's (below)
        wave = electrical_sim.arc_waveforms(scn)
        step("arc")
        streams["electrical"] = StreamData(
            electrical_sim.simulate(scn, wave, config.electrical_rate),
            config.electrical_rate,
            "mixed",
            "laser diode driver + robot controller" if process == "laser" else f"{process} power source DAQ",
            list(CHANNELS),
            list(CHANNEL_UNITS),
        )
        step("electrical")
    heat = thermal_sim.heat_flow(scn, config.thermal_rate, config.thermal_shape, config.thermal_mm_per_px)
    step("heat flow")
    if fsw:
        streams["fsw_machine"] = StreamData(fsw_machine_sim.simulate(scn, heat, config.fsw_machine_rate),
                                            config.fsw_machine_rate, "mixed", "FSW machine controller",
                                            list(FSW_MACHINE_CHANNELS), list(FSW_MACHINE_UNITS))
        step("FSW machine")
    frames, source_xy, thermal_boxes = thermal_sim.simulate(scn, heat, config.thermal_rate, config.thermal_shape,
                                                            config.thermal_mm_per_px)
    streams["thermal"] = StreamData(frames, config.thermal_rate, "degC", "radiometric MWIR camera, emissivity set to 1")
    step("thermal")
    video = video_sim.simulate(scn, wave, heat, config.video_rate, config.video_shape, video_mm_per_px,
                               config.spatter_scale, config.video_noise_scale)
    streams["video"] = StreamData(video.frames, config.video_rate, "gray8", "high-speed camera")
    step("video")
    streams["acoustic"] = StreamData(acoustic_sim.simulate(scn, wave, config.acoustic_rate, heat), config.acoustic_rate,
                                     "Pa", "microphone", ["mic"], ["Pa"])
    step("acoustic")
    if scn.process == "laser":  # a laser cell logs beam power and its weld monitor's photodiodes
        streams["laser_monitor"] = StreamData(laser_monitor_sim.simulate(scn, heat, config.laser_monitor_rate),
                                              config.laser_monitor_rate, "mixed", "laser controller + weld monitor",
                                              list(LASER_MONITOR_CHANNELS), list(LASER_MONITOR_UNITS))
        step("laser monitor")
    if config.ae_rate and not fsw:
        streams["emission"] = StreamData(emission_sim.simulate(scn, wave, config.ae_rate), config.ae_rate, "V",
                                         "acoustic-emission sensor", ["ae"], ["V"])
        step("emission")

    # real-world mess: one missing sensor, dropouts, clock offsets
    missing: list[str] = []
    core = simulated_sensors(process)
    reference = core[-1]  # the process data's clock is the recording clock
    drop = mess.uniform(size=2)
    if drop[0] < config.missing_prob:
        missing.append(core[int(drop[1] * len(core)) % len(core)])
    for name in (*core, *(n for n in ("laser_monitor", "emission") if n in streams)):
        s = streams[name]
        _apply_gaps(mess, s, duration_s, config.gap_prob, hold=name in ("thermal", reference))
        offset = mess.uniform(-1.0, 1.0) * config.max_clock_offset_s
        s.clock_offset_s = 0.0 if name == reference else float(offset)
    for name in missing:
        del streams[name]

    truth = {
        "heat_input": (heat_input_from_power(heat.power_at(scn.t) / process_efficiency(process), scn.travel, process)
                       if fsw else heat_input(scn.voltage, scn.current, scn.travel, process) * scn.arc),
        "torch_x_mm": np.asarray(scn.torch_x, dtype=np.float64),  # distance travelled (mm) on the control grid
    }
    if "video" in streams:
        truth["video_arc_xy"] = video.arc_xy
        truth["video_boxes"] = video.boxes
        truth["video_motion"] = video.motion
    if "thermal" in streams:
        truth["thermal_source_xy"] = source_xy
        truth["thermal_boxes"] = thermal_boxes
    if scn.has_short_circuits:
        truth["short_circuits"] = np.stack([scn.sc_start, scn.sc_start + scn.sc_dur], axis=1)
    rid = recording_id(spec.name, process, index)
    meta = RecordingMeta(
        recording_id=rid,
        material_pair=spec.name,
        material_a=spec.material_a,
        material_b=spec.material_b,
        process=process,
        source=SOURCE,
        extra={"sim_version": SIM_VERSION, "sim_seed": int(seed), "sim_index": int(index)},
    )
    defects_out = [LabelInterval(ev.start_s, ev.end_s, ev.label) for ev in scn.defects]
    return SimulatedRun(rid, meta, streams, list(scn.phases), defects_out, truth, scn, missing, config)


def write_run(run: SimulatedRun, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``run`` atomically to ``path`` (HDF5 recording format v1 + ``/truth``)."""
    with RecordingWriter(path, run.meta, overwrite=overwrite, taxonomy=process_taxonomy(run.meta.process)) as w:
        for name in modality_names():
            s = run.streams.get(name)
            if s is None:
                continue
            kwargs = {}
            if s.channel_names is not None:
                kwargs["channel_names"] = s.channel_names
            if s.channel_units is not None:
                kwargs["channel_units"] = s.channel_units
            w.write_stream(
                name,
                s.data,
                units=s.units,
                rate=s.rate,
                starting_time=0.0,
                gaps=s.gaps if len(s.gaps) else None,
                sensor=s.sensor,
                attrs={"sim_clock_offset_s": float(s.clock_offset_s)},
                **kwargs,
            )
        w.write_labels(phases=run.phases, defects=run.defects)
        w.write_extra(
            "truth",
            run.truth,
            attrs={
                "control_rate": CONTROL_RATE,
                "video_mm_per_px": run.config.video_mm_per_px * (FSW_FIELD_FACTOR if run.scenario.is_fsw else 1.0),
                "spatter_scale": run.config.spatter_scale,
                "video_noise_scale": run.config.video_noise_scale,
                "thermal_mm_per_px": run.config.thermal_mm_per_px,
                "box_classes": list(BOX_CLASSES),
                "description": "simulator ground truth: arc / heat-source pixel positions (column, row), "
                "video and IR object boxes [frame, class, x0, y0, x1, y1] px (video_boxes, thermal_boxes; classes in "
                "box_classes), per-pixel video motion packed along rows (video_motion: np.unpackbits(m, axis=-1, count=W)), "
                "short circuits [start, end) s, heat input kJ/mm and torch travel mm (torch_x_mm) on the control grid",
            },
        )
    return Path(path)
