"""Friction stir welding as a scenario: phases, machine set points and the disturbances of its imperfections.

The FSW cycle of a position-controlled machine: the spindle spins up while the tool stands above
the plate (``idle``), the rotating tool sinks in at the plunge rate until the shoulder sits
:attr:`~weldfusion.sensors.materials.FswParams.shoulder_plunge_mm` below the surface (``plunge``),
stays there turning until the plate under it is soft (``dwell``), travels along the joint
(``traverse``, with programmed changes of spindle speed or traverse speed: ``parameter_change``)
and pulls out, leaving the exit hole (``retract``). There is no arc: the heat is friction and plastic
work under the shoulder and around the pin, ``P = M * omega`` (spindle torque times angular speed),
of which :data:`~weldfusion.sensors.electrical.physics.PROCESS_EFFICIENCY` ``["FSW"]`` enters the plate.

:func:`fsw_setpoints` fills the :class:`~weldfusion.sensors.scenario.Scenario` arrays (travel,
tool position, spindle speed, tool depth, cold-plate torque and axial force) and its switching
times (``ignition_s`` = first contact, ``extinction_s`` = lift-off). :func:`disturbance` is the one
place the imperfections act on the process; the heat flow, the machine's sensors, the camera and the
microphone all read it:

* ``tunnel`` (wormhole on the advancing side: too little heat and forge pressure to fill behind the
  pin) — less heat (-10 %), lower axial force (-8 %) and a 4x larger force oscillation at the tool's
  rotation frequency as the pin's cavity opens and closes each turn;
* ``kissing_bond`` (the joint line stirred but not bonded: the pin 0.25 mm too short) — -5 % heat,
  -6 % force, and a joint face that conducts only partly (:data:`KISSING_CONDUCTANCE`);
* ``flash`` (the shoulder 0.25 mm too deep, material expelled at its edge) — +12 % heat, +18 % force;
* ``galling`` (aluminium sticking to and tearing from the shoulder) — stick-slip of the torque at
  30-80 Hz (in the machine data) and a squeal (in the sound), a torn surface in the bead (video).
"""

from __future__ import annotations

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import LabelInterval
from weldfusion.sensors.materials import FswParams, PairSpec
from weldfusion.sensors.phase_plan import contiguous_intervals, smoothstep

#: Share of the cold-plate torque and of the axial force the pin alone takes before the shoulder touches.
PIN_SHARE_TORQUE, PIN_SHARE_FORCE = 0.15, 0.30
#: Overshoot of the axial force when the shoulder first touches cold plate (share of the set force).
SHOULDER_OVERSHOOT = 0.35
#: Conductance share of a joint face left as a kissing bond (in contact, not metallurgically bonded).
KISSING_CONDUCTANCE = 0.4
#: Relative effects of each imperfection at full envelope: heat (power), axial force, tool depth (mm).
EFFECTS: dict[str, dict[str, float]] = {
    "tunnel": {"power": -0.10, "force": -0.08, "depth_mm": 0.0, "force_wobble": 3.0},
    "kissing_bond": {"power": -0.05, "force": -0.06, "depth_mm": -0.25, "force_wobble": 0.0},
    "flash": {"power": 0.12, "force": 0.18, "depth_mm": 0.25, "force_wobble": 0.0},
    "galling": {"power": 0.03, "force": 0.0, "depth_mm": 0.0, "force_wobble": 0.0},
}
#: Middle phases of an FSW run, their odds and durations (s).
_MIDDLE_DUR = {"traverse": (1.2, 3.0), "parameter_change": (0.6, 1.2)}


def fsw_phase_plan(rng: np.random.Generator, duration: float) -> list[LabelInterval]:
    """Contiguous phases covering [0, duration): idle, plunge, dwell, traverse / parameter_change ..., retract, idle;
    each lasts at least :data:`weldfusion.sensors.scenario.PHASE_MIN_S` (tested)."""
    idle0, plunge, dwell = rng.uniform(0.6, 1.0), rng.uniform(0.7, 1.1), rng.uniform(0.6, 1.0)
    retract, idle1 = rng.uniform(0.45, 0.7), rng.uniform(0.6, 1.0)
    weld = duration - (idle0 + plunge + dwell + retract + idle1)
    if weld < 1.2:
        raise InvalidInput(f"run duration {duration:.2f} s is too short to simulate a friction stir weld (need >= 5 s)")
    segments: list[list] = []
    total, kind = 0.0, "traverse"
    while total < weld:
        dur = rng.uniform(*_MIDDLE_DUR[kind])
        segments.append([kind, dur])
        total += dur
        kind = "parameter_change" if kind == "traverse" else "traverse"
    segments[-1][1] -= total - weld
    if len(segments) > 1 and segments[-1][1] < 0.5:
        segments[-2][1] += segments.pop()[1]
    if segments[-1][0] == "parameter_change":  # a change must settle before the tool pulls out
        if len(segments) > 1:
            segments[-2][1] += segments.pop()[1]
        else:
            segments[-1][0] = "traverse"
    plan = [("idle", idle0), ("plunge", plunge), ("dwell", dwell), *[(k, d) for k, d in segments],
            ("retract", retract), ("idle", idle1)]
    return contiguous_intervals(plan, duration)


def fsw_setpoints(rng: np.random.Generator, t: np.ndarray, phases: list[LabelInterval], pair: PairSpec,
                  travel_ramp_s: float) -> dict:
    """Machine set points on grid ``t`` (s): the fields :func:`weldfusion.sensors.scenario.make_scenario` stores.

    Arrays (M,): ``travel`` mm/s, ``weave`` mm (tool axis across the joint), ``torch_x`` mm,
    ``spindle_rpm`` 1/min, ``tool_depth`` mm (pin tip below the surface), ``torque_set`` N m and
    ``force_set`` kN (what the engaged tool takes in cold plate), ``source_on`` (spindle turning),
    ``arc`` (tool touching the plate) and ``gas`` (no shielding gas: all False); the arc channels
    ``current``/``voltage``/``wire_feed`` are 0.
    """
    p: FswParams = pair.params("FSW")
    by = {ph.label: ph for ph in phases if ph.label in ("plunge", "dwell", "retract")}
    s_pl, e_pl = by["plunge"].start_s, by["plunge"].end_s
    e_dw = by["dwell"].end_s
    s_rt, e_rt = by["retract"].start_s, by["retract"].end_s

    f_n = np.full(t.shape, rng.uniform(0.94, 1.06))  # spindle speed factor (operator's setting)
    f_v = np.full(t.shape, rng.uniform(0.92, 1.08))  # traverse speed factor
    for ph in phases:
        if ph.label == "parameter_change":  # programmed ramp of spindle speed and/or traverse speed
            r = np.clip((t - ph.start_s) / max(ph.end_s - ph.start_s, 1e-9), 0.0, 1.0)
            i0 = min(int(np.searchsorted(t, ph.start_s)), t.size - 1)
            old_n, old_v = f_n[i0], f_v[i0]
            new_n = float(np.clip(old_n * (1.0 + rng.uniform(0.12, 0.25) * rng.choice([-1.0, 1.0])), 0.75, 1.3))
            new_v = float(np.clip(old_v * (1.0 + rng.uniform(-0.3, 0.3)), 0.7, 1.35)) if rng.random() < 0.6 else old_v
            f_n = f_n + (new_n - old_n) * r
            f_v = f_v + (new_v - old_v) * r

    t_spin = max(s_pl - 0.35, 0.05)  # spindle starts in the idle before the plunge
    t_stop = min(e_rt + 0.35, t[-1])
    spin = smoothstep((t - t_spin) / 0.2) * (1.0 - smoothstep((t - t_stop) / 0.2))
    rpm = p.spindle_rpm * f_n * spin
    full = p.pin_length_mm + p.shoulder_plunge_mm
    t_touch = s_pl + 0.1 * (e_pl - s_pl)  # the tool approaches, then the pin touches
    t_seat = s_pl + 0.9 * (e_pl - s_pl)
    t_lift = s_rt + 0.7 * (e_rt - s_rt)
    depth = full * np.clip((t - t_touch) / (t_seat - t_touch), 0.0, 1.0)
    depth = np.where(t >= s_rt, full * np.clip((t_lift - t) / (t_lift - s_rt), 0.0, 1.0), depth)
    pin = np.clip(depth / p.pin_length_mm, 0.0, 1.0)
    shoulder = np.clip((depth - p.pin_length_mm) / p.shoulder_plunge_mm, 0.0, 1.0)
    # torque ~ rpm^-0.3 at constant contact (hotter, softer at higher speed); force overshoot when the shoulder seats
    rel_n = np.maximum(rpm / p.spindle_rpm, 1e-6)
    torque = p.torque_nm * (PIN_SHARE_TORQUE * pin + (1 - PIN_SHARE_TORQUE) * shoulder) * rel_n**-0.3 * (rpm > 0)
    seat = shoulder * (1.0 + SHOULDER_OVERSHOOT * np.exp(-np.clip(t - t_seat, 0.0, None) / 0.25) * (t >= t_seat))
    force = p.axial_force_kn * (PIN_SHARE_FORCE * pin + (1 - PIN_SHARE_FORCE) * seat) * (f_v / f_v[0]) ** 0.2
    travel = p.traverse_mm_s * f_v * smoothstep((t - e_dw) / travel_ramp_s) * (1.0 - smoothstep((t - s_rt) / travel_ramp_s))
    torch_x = np.concatenate([[0.0], np.cumsum(0.5 * (travel[1:] + travel[:-1]) * (t[1] - t[0]))])
    weave = np.full(t.shape, p.tool_offset_mm + rng.normal(0.0, 0.1))
    zeros = np.zeros_like(t)
    return {
        "current": zeros, "voltage": zeros.copy(), "wire_feed": zeros.copy(),
        "travel": travel, "weave": weave, "torch_x": torch_x,
        "spindle_rpm": rpm, "tool_depth": depth, "torque_set": torque, "force_set": force,
        "source_on": rpm > 0, "arc": depth > 0, "gas": np.zeros(t.shape, dtype=bool),
        "source_on_s": float(t_spin), "source_off_s": float(t_stop),
        "ignition_s": float(t_touch), "extinction_s": float(t_lift),
        "weld_start_s": float(e_dw), "weld_end_s": float(s_rt),
    }


def disturbance(scn, times: np.ndarray) -> dict[str, np.ndarray]:
    """The imperfections' effects at ``times`` (n,): relative ``power`` and ``force`` factors, the
    tool-depth error ``depth_mm`` and the extra force oscillation ``force_wobble`` (see module docstring)."""
    times = np.asarray(times, dtype=np.float64)
    out = {"power": np.ones(times.shape), "force": np.ones(times.shape), "depth_mm": np.zeros(times.shape),
           "force_wobble": np.zeros(times.shape)}
    for label, fx in EFFECTS.items():
        env = scn.envelope(label, times)
        if not env.any():
            continue
        out["power"] *= 1.0 + fx["power"] * env
        out["force"] *= 1.0 + fx["force"] * env
        out["depth_mm"] += fx["depth_mm"] * env
        out["force_wobble"] += fx["force_wobble"] * env
    return out
