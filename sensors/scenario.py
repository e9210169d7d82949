"""The weld-run scenario: what happens in one simulated run, before any sensor looks at it.

A :class:`Scenario` holds, on a 1 kHz control grid, the process parameters the power source and
the robot apply (current, voltage, wire feed, travel speed, weave offset), the state of the source
and arc, the labelled phases, the defect events with their soft envelopes, and for GMAW the
short-circuit events of the metal transfer. The four sensor simulators read it and nothing else.

Phases: ``idle -> arc_start -> deposition/weaving/parameter_change ... -> arc_end -> idle``,
contiguous and covering ``[0, duration_s)``; every phase lasts >= 0.4 s.

Everything is drawn from numpy Generators derived from one seed, so a run is reproducible; the
random streams are separate per concern (phases, defects, short circuits, each sensor, the
real-world mess), so that the same seed with a different defect list changes only what the
defects touch.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import poisson
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import ALL_DEFECTS, LabelInterval
from weldfusion.sensors.electrical.physics import mechanical_power
from weldfusion.sensors.fsw_process import fsw_phase_plan, fsw_setpoints
from weldfusion.sensors.materials import FswParams, PairSpec, ProcessParams, get_pair
from weldfusion.sensors.phase_plan import contiguous_intervals, smoothstep

#: Rate of the control grid (Hz).
CONTROL_RATE = 1000.0
#: Shortest phase (s): a 0.4 s window can always be labelled.
PHASE_MIN_S = 0.4
#: Defect events last between these (s).
DEFECT_DURATION_S = (0.5, 1.6)
#: Number of defects per run (0..6) and their probabilities: the default runs are defect-seeded
#: trials (about 3.7 events per run, classes may overlap), so that every class has a few hundred
#: labelled windows in the default data set and is present in a held-out split.
DEFECT_COUNT_P = (0.02, 0.05, 0.13, 0.25, 0.25, 0.18, 0.12)
#: Envelope ramp at both ends of a defect event (s).
DEFECT_RAMP_S = 0.04
#: Short-circuit frequency limits of GMAW short-arc transfer (1/s).
SC_RATE_LIMITS = (20.0, 200.0)
#: Laser wobble (scanner head) frequency range (Hz).
WOBBLE_HZ = (100.0, 400.0)
#: Time the carriage / robot takes to reach or leave the travel speed (s).
TRAVEL_RAMP_S = 0.05
#: Per-process factor on a pair's defect weights: TIG has no metal transfer through the arc and
#: almost no spatter.
PROCESS_DEFECT_FACTOR: dict[str, dict[str, float]] = {"TIG": {"spatter": 0.1}}
#: Shape k of the gamma-distributed intervals between short circuits (coefficient of variation
#: 1 / sqrt(k)): a controlled short arc (CMT-like) is regular, its rhythm a line in the spectrum.
SC_REGULARITY = 6.0
#: Spatter particle kinematics slots per short circuit (video).
SPATTER_SLOTS = 6
#: Mean spatter particles thrown at one re-ignition (Poisson).
SC_PARTICLES_MEAN = 0.12

#: Random streams of a run, one per concern (index = SeedSequence spawn key).
STREAMS = ("phases", "defects", "short_circuits", "electrical", "thermal", "video", "acoustic", "mess", "daq", "ae",
           "plume", "laser_monitor", "clutter")

#: Where each defect leaves its signature (arc processes). Modalities not listed see nothing.
#: ``defect_modalities`` applies the process exceptions (laser/TIG have no short circuits, and the
#: laser driver's electrical channels do not see the work piece).
DEFECT_SIGNATURES: dict[str, dict[str, str]] = {
    "porosity": {
        "video": "dark pores and bright gas bursts on the pool surface, pool brightness jitter; surface pores frozen into the bead",
        "acoustic": "crackling: bursts of 1.5-5 kHz noise as gas escapes the pool",
        "laser_monitor": "keyhole collapses: back-reflection jumps, plasma dips",
    },
    "lack_of_fusion": {
        "thermal": "the joint face does not fuse: heat does not cross to side b, cold side of the joint",
        "video": "a narrower pool (its size comes from the heat flow); the unfused joint line shows through the bead",
        "electrical": "small: +0.6 V arc voltage, -3 % current (gap under the arc)",
        "laser_monitor": "a smaller pool: lower temperature photodiode (through the heat flow)",
    },
    "burn_through": {
        "thermal": "hotter, larger pool, then a cold hole just behind the source",
        "video": "dark hole inside an enlarged pool",
        "electrical": "arc lengthens into the hole: +3 V, -12 % current, most short circuits vanish",
        "acoustic": "follows the electrical change (fewer short-circuit pops); laser: plume sound drops",
        "laser_monitor": "the beam leaves through the root: back reflection and plasma drop, a larger pool",
    },
    "spatter": {
        "video": "many bright particles on ballistic paths",
        "electrical": "irregular, longer short circuits, higher peak current and re-ignition spikes",
        "acoustic": "explosive re-ignition pops and particle impacts",
    },
    "undercut": {
        "video": "groove along one toe over the seam segment where it formed (scrolls with the bead), outer wall lit",
        "thermal": "bright line along one bead toe (cavity raises the apparent emissivity)",
    },
    "crack": {
        "thermal": "cold line growing along the fusion boundary behind the pool",
        "acoustic": "faint 5-7 kHz ticks on the microphone",
        "emission": "AE hits: damped 120-300 kHz bursts",
    },
}


def defect_modalities(label: str, process: str) -> tuple[str, ...]:
    """Modalities in which defect ``label`` leaves a signature for ``process`` (canonical order)."""
    if label not in DEFECT_SIGNATURES:
        raise ValueError(f"unknown defect {label!r}; known: {', '.join(DEFECT_SIGNATURES)}")
    mods = set(DEFECT_SIGNATURES[label])
    if process == "laser":
        mods.discard("electrical")  # the diode driver does not see the work piece
    if process != "GMAW" and label == "spatter":
        mods.discard("electrical")  # no short circuits to disturb
    if process != "laser":
        mods.discard("laser_monitor")  # only a laser cell has one
    return tuple(m for m in ("video", "thermal", "acoustic", "electrical", "laser_monitor", "emission") if m in mods)


@dataclass(frozen=True)
class DefectEvent:
    """One defect: ``label`` active on [start_s, end_s) with soft edges.

    ``side`` (-1 = material a, +1 = material b) says where one-sided defects (undercut) sit;
    ``severity`` scales the signature (about 0.8-1.2); ``seed`` drives its own random details.
    """

    label: str
    start_s: float
    end_s: float
    side: int = 1
    severity: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.label not in ALL_DEFECTS:
            raise ValueError(f"unknown defect {self.label!r}; known: {', '.join(ALL_DEFECTS)}")
        if not self.end_s > self.start_s:
            raise ValueError(f"defect {self.label}: end_s must be > start_s")


@dataclass
class Scenario:
    """One weld run on the control grid (M samples at :data:`CONTROL_RATE`).

    Arrays (all (M,)): ``t`` s; ``current`` A and ``voltage`` V = arc set points while arcing
    (hot start, crater fill and parameter changes included, defects not); ``wire_feed`` m/min;
    ``travel`` mm/s; ``weave`` mm = lateral torch position relative to the joint (y, + towards b);
    ``torch_x`` mm = distance travelled; ``source_on``/``arc``/``gas`` bool states. The exact switching
    times are ``source_on_s``/``source_off_s`` (power source energised) and ``ignition_s``/``extinction_s``
    (arc or beam burning); ``weld_start_s``/``weld_end_s`` bound the travel (arc_start end, arc_end start).
    Short circuits (K,): ``sc_start`` s, ``sc_dur`` s, ``sc_gain`` (peak current / set current),
    ``sc_spike`` V (re-ignition spike), ``sc_particles`` (spatter particles thrown at
    re-ignition), ``sc_slots`` (K, SPATTER_SLOTS, 4) uniforms for the particle kinematics.

    Friction stir welding (:mod:`weldfusion.sensors.fsw_process`) has no arc: ``current``/``voltage``/
    ``wire_feed`` are 0, ``arc`` means the tool touches the plate, ``weave`` is the tool axis, and four
    more (M,) arrays hold the machine: ``spindle_rpm`` 1/min, ``tool_depth`` mm, ``torque_set`` N m,
    ``force_set`` kN (empty for the other processes).
    """

    pair: PairSpec
    process: str
    params: ProcessParams
    duration_s: float
    entropy: tuple[int, ...]
    t: np.ndarray
    current: np.ndarray
    voltage: np.ndarray
    wire_feed: np.ndarray
    travel: np.ndarray
    weave: np.ndarray
    torch_x: np.ndarray
    source_on: np.ndarray
    arc: np.ndarray
    gas: np.ndarray
    phases: list[LabelInterval]
    defects: list[DefectEvent]
    source_on_s: float
    source_off_s: float
    ignition_s: float
    extinction_s: float
    weld_start_s: float
    weld_end_s: float
    sc_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sc_dur: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sc_gain: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sc_spike: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sc_particles: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sc_slots: np.ndarray = field(default_factory=lambda: np.zeros((0, SPATTER_SLOTS, 4)))
    spindle_rpm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tool_depth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    torque_set: np.ndarray = field(default_factory=lambda: np.zeros(0))
    force_set: np.ndarray = field(default_factory=lambda: np.zeros(0))

    # -- random streams ------------------------------------------------------------------------
    def rng(self, stream: str) -> np.random.Generator:
        """A fresh Generator for one of :data:`STREAMS` (same seed -> same numbers)."""
        return stream_rng(self.entropy, stream)

    # -- sampling the control grid -----------------------------------------------------------
    def at(self, name: str, times: np.ndarray) -> np.ndarray:
        """Control array ``name`` linearly interpolated at ``times`` (s) -> float64 (len(times),)."""
        values = getattr(self, name)
        return np.interp(times, self.t, values.astype(np.float64))

    def envelope(self, label: str, times: np.ndarray) -> np.ndarray:
        """Soft 0..1 activity of defect ``label`` at ``times`` (max over its events, scaled by severity)."""
        times = np.asarray(times, dtype=np.float64)
        out = np.zeros(times.shape)
        for ev in self.defects:
            if ev.label == label:
                out = np.maximum(out, ev.severity * event_envelope(ev, times))
        return out

    def events(self, label: str) -> list[DefectEvent]:
        return [ev for ev in self.defects if ev.label == label]

    @property
    def has_short_circuits(self) -> bool:
        return self.process == "GMAW"

    @property
    def is_fsw(self) -> bool:
        return self.process == "FSW"

    def set_power(self) -> np.ndarray:
        """Process power at the set points on the control grid (M,) W: ``U * I`` while the arc (beam)
        burns; FSW: ``torque * omega`` of the engaged tool in cold plate (before the stir zone softens)."""
        if self.is_fsw:
            return mechanical_power(self.torque_set, self.spindle_rpm)
        return self.voltage * self.current * self.arc

    @property
    def nominal_power_w(self) -> float:
        """Nominal process power of the pair's set points (W): the reference of relative brightness and loudness."""
        p = self.params
        if isinstance(p, FswParams):
            return float(mechanical_power(p.torque_nm, p.spindle_rpm))
        return p.current_a * p.voltage_v

    @property
    def welding(self) -> tuple[float, float]:
        """(ignition, extinction) times of the arc/beam in s."""
        return self.ignition_s, self.extinction_s


def stream_rng(entropy: tuple[int, ...], stream: str) -> np.random.Generator:
    """Generator of random stream ``stream`` (one of :data:`STREAMS`) of the run seeded by ``entropy``."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(STREAMS.index(stream),)))


def first_passage(scn: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The distinct torch positions ``xs`` (K,) mm, increasing, and the index into ``scn.t`` (K,) of
    the first time the torch reached each (the torch never moves back)."""
    return np.unique(scn.torch_x, return_index=True)


def event_envelope(ev: DefectEvent, times: np.ndarray) -> np.ndarray:
    """0..1 envelope of one event: smooth ramps of :data:`DEFECT_RAMP_S` inside [start, end)."""
    up = smoothstep((times - ev.start_s) / DEFECT_RAMP_S)
    down = smoothstep((ev.end_s - times) / DEFECT_RAMP_S)
    return up * down


def run_entropy(seed: int, pair: str, process: str, index: int) -> tuple[int, ...]:
    """Seed material of run ``index`` of ``pair``/``process`` (independent of the other pairs listed)."""
    return (int(seed), zlib.crc32(pair.encode()), zlib.crc32(process.encode()), int(index))


# -- phases ----------------------------------------------------------------------------------------
_MIDDLE = ("deposition", "weaving", "parameter_change")
_MIDDLE_P = {"deposition": 0.30, "weaving": 0.40, "parameter_change": 0.30}
_MIDDLE_DUR = {"deposition": (0.8, 2.2), "weaving": (1.0, 2.4), "parameter_change": (0.6, 1.2)}


def _phase_plan(rng: np.random.Generator, duration: float) -> list[LabelInterval]:
    idle0, a_start = rng.uniform(0.6, 1.2), rng.uniform(0.45, 0.7)
    a_end, idle1 = rng.uniform(0.45, 0.8), rng.uniform(0.6, 1.2)
    weld = duration - (idle0 + a_start + a_end + idle1)
    if weld < 1.0:  # short runs: shrink the idles first (tests use 3-4 s runs)
        spare = max(0.0, idle0 + idle1 - 2 * PHASE_MIN_S)
        take = min(spare, 1.0 - weld)
        idle0 -= take * idle0 / (idle0 + idle1)
        idle1 -= take * idle1 / (idle0 + idle1 + 1e-12)
        weld = duration - (idle0 + a_start + a_end + idle1)
    if weld < 0.6:
        raise InvalidInput(f"run duration {duration:.2f} s is too short to simulate a weld (need >= 3 s)")
    segments: list[list] = []
    total, prev = 0.0, None
    while total < weld:
        if prev is None:
            kind = "deposition"
        else:
            options = [k for k in _MIDDLE if k != prev]
            p = np.array([_MIDDLE_P[k] for k in options])
            kind = options[int(rng.choice(len(options), p=p / p.sum()))]
        lo, hi = _MIDDLE_DUR[kind]
        dur = rng.uniform(lo, hi)
        segments.append([kind, dur])
        total += dur
        prev = kind
    # trim to fit: the last segment takes what is left; too short -> merge into the one before
    segments[-1][1] -= total - weld
    if len(segments) > 1 and segments[-1][1] < 0.5:
        extra = segments.pop()[1]
        segments[-1][1] += extra
    if segments[-1][0] == "parameter_change":  # a ramp must settle before arc_end
        segments[-1][0] = "deposition" if (len(segments) < 2 or segments[-2][0] != "deposition") else "weaving"
    plan = [("idle", idle0), ("arc_start", a_start), *[(k, d) for k, d in segments], ("arc_end", a_end), ("idle", idle1)]
    return contiguous_intervals(plan, duration)


# -- set points --------------------------------------------------------------------------------------
def _ramp(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """0 before t0, smooth rise to 1 at t1."""
    return smoothstep((t - t0) / max(t1 - t0, 1e-9))


def _linear_ramp(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """0 before t0, straight rise to 1 at t1: a power source's programmed slope (constant rate over
    the whole parameter-change phase, so every window inside it sees the change)."""
    return np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)


def _setpoints(rng: np.random.Generator, t: np.ndarray, phases: list[LabelInterval], pair: PairSpec, process: str):
    """Arc current/voltage set points, wire feed, travel speed, weave and state arrays on grid ``t``."""
    p = pair.params(process)
    by = {ph.label: ph for ph in phases if ph.label in ("arc_start", "arc_end")}
    s_as, e_as = by["arc_start"].start_s, by["arc_start"].end_s
    s_ae, e_ae = by["arc_end"].start_s, by["arc_end"].end_s

    # run-to-run spread of the nominal set points (a welder's own settings)
    f_w = np.full(t.shape, rng.uniform(0.92, 1.08))  # wire feed (GMAW) / current factor (TIG, laser)
    f_v = np.full(t.shape, rng.uniform(0.92, 1.08))  # travel speed factor
    trim = np.full(t.shape, rng.uniform(-0.5, 0.5))  # voltage trim, V
    weave = np.full(t.shape, pair.torch_offset_mm + rng.normal(0.0, 0.15))
    for ph in phases:
        if ph.label == "parameter_change":
            r = _linear_ramp(t, ph.start_s, ph.end_s)
            i0 = min(int(np.searchsorted(t, ph.start_s)), t.size - 1)
            old_w, old_v, old_u = f_w[i0], f_v[i0], trim[i0]
            step = rng.uniform(0.15, 0.35) * rng.choice([-1.0, 1.0])
            new_w = float(np.clip(old_w * (1.0 + step), 0.7, 1.35))
            if abs(new_w - old_w) < 0.08:  # at a bound: go the other way
                new_w = float(np.clip(old_w * (1.0 - step), 0.7, 1.35))
            new_v = float(np.clip(old_v * (1.0 + rng.uniform(-0.25, 0.25)), 0.7, 1.35)) if rng.random() < 0.6 else old_v
            new_u = float(np.clip(old_u + rng.uniform(-1.0, 1.0), -1.5, 1.5))
            f_w = f_w + (new_w - old_w) * r
            f_v = f_v + (new_v - old_v) * r
            trim = trim + (new_u - old_u) * r
        elif ph.label == "weaving":
            # a laser's scanner head wobbles the beam at 100-400 Hz; an arc torch weaves at 1.5-3.5 Hz
            amp = rng.uniform(0.5, 1.0) if process == "laser" else rng.uniform(1.5, 3.0)  # mm
            freq = rng.uniform(*WOBBLE_HZ) if process == "laser" else rng.uniform(1.5, 3.5)  # Hz
            env = _ramp(t, ph.start_s, ph.start_s + 0.12) * (1.0 - _ramp(t, ph.end_s - 0.12, ph.end_s))
            weave = weave + amp * env * np.sin(2 * np.pi * freq * (t - ph.start_s))

    # arc start / arc end timing
    t_on = s_as + rng.uniform(0.05, 0.10)  # source energised (OCV), wire creeps
    t_ign = t_on + (rng.uniform(0.08, 0.14) if process != "laser" else 0.0)
    t_ext = s_ae + rng.uniform(0.60, 0.75) * (e_ae - s_ae)
    t_off = t_ext + (0.04 if process != "laser" else 0.0)  # burn-back: OCV for 40 ms
    hot = 1.0 + (0.30 if process != "laser" else 0.0) * np.exp(-np.clip(t - t_ign, 0, None) / 0.12) * (t >= t_ign)
    crater = 1.0 - 0.4 * _ramp(t, s_ae, s_ae + 0.6 * (e_ae - s_ae))
    laser_ramp = _ramp(t, t_ign, t_ign + 0.05) if process == "laser" else 1.0

    if process == "GMAW":
        current = p.current_a * f_w**0.85
        voltage = p.voltage_v * (1.0 + 0.3 * (f_w - 1.0)) + trim
        wire_feed = p.wire_feed_m_min * f_w
    elif process == "TIG":
        current = p.current_a * f_w
        voltage = p.voltage_v * (1.0 + 0.1 * (f_w - 1.0)) + 0.3 * trim
        wire_feed = p.wire_feed_m_min * f_w
    else:  # laser: diode driver current and voltage (U*I = beam power), autogenous
        current = p.current_a * f_w
        voltage = p.voltage_v * (1.0 + 0.04 * (f_w - 1.0)) + 0.05 * trim
        wire_feed = np.zeros_like(t)
    current = current * hot * crater * laser_ramp
    voltage = voltage * (1.0 - 0.1 * (1.0 - crater) / 0.4)
    arc = (t >= t_ign) & (t < t_ext)
    source_on = (t >= t_on) & (t < t_off)
    creep = np.where((t >= t_on) & (t < t_ign), 0.35, 0.0) if process == "GMAW" else 0.0
    feed_on = _ramp(t, t_ign, t_ign + 0.05) * (t < t_ext - 0.02)
    if process == "TIG":
        feed_on = _ramp(t, e_as, e_as + 0.1) * (t < s_ae)
    wire_feed = wire_feed * crater * (feed_on + creep)
    travel = p.travel_mm_s * f_v * _ramp(t, e_as, e_as + TRAVEL_RAMP_S) * (1.0 - _ramp(t, s_ae, s_ae + TRAVEL_RAMP_S))
    torch_x = np.concatenate([[0.0], np.cumsum(0.5 * (travel[1:] + travel[:-1]) / CONTROL_RATE)])
    gas = (t >= s_as) & (t < e_ae + 0.3)
    return {
        "current": current.astype(np.float64),
        "voltage": voltage.astype(np.float64),
        "wire_feed": wire_feed.astype(np.float64),
        "travel": travel.astype(np.float64),
        "weave": weave.astype(np.float64),
        "torch_x": torch_x,
        "source_on": source_on,
        "arc": arc,
        "gas": gas,
        "source_on_s": float(t_on),
        "source_off_s": float(t_off),
        "ignition_s": float(t_ign),
        "extinction_s": float(t_ext),
        "weld_start_s": float(e_as),
        "weld_end_s": float(s_ae),
    }


# -- defects -----------------------------------------------------------------------------------------
def _draw_defects(rng: np.random.Generator, pair: PairSpec, process: str, lo: float, hi: float) -> list[DefectEvent]:
    n = int(rng.choice(len(DEFECT_COUNT_P), p=np.array(DEFECT_COUNT_P)))
    params = pair.params(process)
    weights = params.defect_weights if isinstance(params, FswParams) else pair.defect_weights
    labels = list(weights)
    factor = PROCESS_DEFECT_FACTOR.get(process, {})
    w = np.array([weights[k] * factor.get(k, 1.0) for k in labels])
    out: list[DefectEvent] = []
    for _ in range(n):
        label = labels[int(rng.choice(len(labels), p=w / w.sum()))]
        dur = rng.uniform(*DEFECT_DURATION_S)
        side = int(rng.choice([-1, 1]))
        severity = rng.uniform(0.8, 1.2)
        seed = int(rng.integers(2**31))
        tries = rng.uniform(size=10)
        if hi - lo < DEFECT_DURATION_S[0]:
            continue
        dur = min(dur, hi - lo)
        for u in tries:
            start = lo + u * (hi - lo - dur)
            clash = any(ev.label == label and start < ev.end_s and ev.start_s < start + dur for ev in out)
            if not clash:
                out.append(DefectEvent(label, round(float(start), 4), round(float(start + dur), 4), side, float(severity), seed))
                break
    return sorted(out, key=lambda ev: ev.start_s)


# -- short circuits ---------------------------------------------------------------------------------
def _short_circuits(rng: np.random.Generator, scn: Scenario) -> dict[str, np.ndarray]:
    """Candidate GMAW short circuits between ignition and extinction (defects not applied)."""
    p = scn.params
    rate = p.sc_rate_hz * (p.voltage_v / np.maximum(scn.voltage, 1.0)) ** 2 * (scn.current / p.current_a) ** 0.3
    rate = np.clip(rate, *SC_RATE_LIMITS)
    t_ign, t_ext = scn.ignition_s, scn.extinction_s
    # touch start: the wire hits the plate, a long short with a current surge ignites the arc
    starts, durs = [t_ign], [rng.uniform(0.008, 0.014)]
    gains, spikes = [rng.uniform(2.6, 3.2)], [rng.uniform(10.0, 14.0)]
    intervals = rng.gamma(SC_REGULARITY, 1.0 / SC_REGULARITY, size=int((t_ext - t_ign) * SC_RATE_LIMITS[1]) + 8)
    lens = rng.lognormal(np.log(2.4e-3), 0.35, size=intervals.size)
    g = rng.uniform(1.9, 2.5, size=intervals.size)
    sp = rng.uniform(6.0, 12.0, size=intervals.size)
    t = t_ign + durs[0]
    i = 0
    while True:
        f = rate[min(int(t * CONTROL_RATE), rate.size - 1)]
        gap = intervals[i] / f
        start = t + gap
        if start >= t_ext - 0.003 or i + 1 >= intervals.size:
            break
        starts.append(start)
        durs.append(float(np.clip(lens[i], 0.8e-3, 0.45 / f)))
        gains.append(g[i])
        spikes.append(sp[i])
        t = start + durs[-1]
        i += 1
    k = len(starts)
    return {
        "sc_start": np.asarray(starts),
        "sc_dur": np.asarray(durs),
        "sc_gain": np.asarray(gains),
        "sc_spike": np.asarray(spikes),
        "sc_particles": poisson.ppf(rng.uniform(size=k), SC_PARTICLES_MEAN).astype(np.int64),
        "sc_slots": rng.uniform(size=(k, SPATTER_SLOTS, 4)),
        "_keep": rng.uniform(size=k),
        "_m1": rng.uniform(size=k),
        "_m2": rng.uniform(size=k),
    }


def _apply_defects_to_sc(scn: Scenario, sc: dict[str, np.ndarray]) -> None:
    """burn_through removes short circuits (longer arc); spatter makes them long, violent, irregular."""
    starts = sc["sc_start"]
    nxt = np.append(starts[1:], np.inf)
    burn = scn.envelope("burn_through", starts)
    spat = scn.envelope("spatter", starts)
    dur = sc["sc_dur"] * (1.0 + 1.5 * spat * sc["_m1"])
    dur = np.minimum(dur, 0.8 * (nxt - starts))
    gain = sc["sc_gain"] * (1.0 + 0.35 * spat)
    spike = sc["sc_spike"] * (1.0 + 1.8 * spat * (sc["_m2"] < 0.7))
    extra = poisson.ppf(sc["_m2"], 2.5 * spat + 1e-12).astype(np.int64)
    particles = np.minimum(sc["sc_particles"] + extra, SPATTER_SLOTS)
    keep = sc["_keep"] >= 0.75 * burn
    keep[0] = True  # the touch start always happens
    scn.sc_start, scn.sc_dur = starts[keep], dur[keep]
    scn.sc_gain, scn.sc_spike = gain[keep], spike[keep]
    scn.sc_particles, scn.sc_slots = particles[keep], sc["sc_slots"][keep]


# -- public ----------------------------------------------------------------------------------------------
def make_scenario(
    pair: PairSpec | str,
    process: str | None,
    duration_s: float,
    seed: int | Sequence[int],
    defects: Sequence[DefectEvent] | None = None,
) -> Scenario:
    """Draw one weld run.

    Args:
        pair: a :class:`PairSpec` or its name (``Al-steel``, ``Ti-Ni``, ``Cu-SS``).
        process: ``GMAW``/``TIG``/``laser``/``FSW`` or None for the pair's default.
        duration_s: run length in s (>= 3 s recommended; demo runs are 8-12 s).
        seed: int or sequence of ints (see :func:`run_entropy`).
        defects: force this defect list instead of drawing one (same seed -> same everything else).
    """
    pair = get_pair(pair) if isinstance(pair, str) else pair
    process = process or pair.default_process
    params = pair.params(process)
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise InvalidInput(f"run duration must be a positive number of seconds, got {duration_s!r}")
    entropy = tuple(int(s) for s in (np.atleast_1d(seed).tolist()))
    rng = stream_rng(entropy, "phases")
    n = round(duration_s * CONTROL_RATE)
    t = np.arange(n) / CONTROL_RATE
    if process == "FSW":
        phases = fsw_phase_plan(rng, float(duration_s))
        sp = fsw_setpoints(rng, t, phases, pair, TRAVEL_RAMP_S)
    else:
        phases = _phase_plan(rng, float(duration_s))
        sp = _setpoints(rng, t, phases, pair, process)
    if defects is None:
        defects = _draw_defects(stream_rng(entropy, "defects"), pair, process, sp["weld_start_s"] + 0.15, sp["weld_end_s"] - 0.1)
    scn = Scenario(
        pair=pair,
        process=process,
        params=params,
        duration_s=float(duration_s),
        entropy=entropy,
        t=t,
        phases=phases,
        defects=sorted(defects, key=lambda ev: ev.start_s),
        **sp,
    )
    if scn.has_short_circuits:
        sc = _short_circuits(scn.rng("short_circuits"), scn)
        _apply_defects_to_sc(scn, sc)
    return scn
