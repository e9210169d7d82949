"""Physical checks of the simulator: the numbers a welding engineer would ask for, measured.

Each function simulates what it needs and returns plain numbers; ``weldfusion sim-check`` prints
them all (JSON + table) and the tests assert them (``tests/sensors/test_heat_flow.py``,
``tests/sensors/test_rate_independence.py``).

- :func:`cooling_time`: the cooling time between two temperatures (t8/5 for steels) on the weld
  centre line of a steady weld on a plate of one material, against Rosenthal's adiabatic
  thin-plate estimate, his thin plate with surface losses (the solver's convection + radiation,
  linearised over the cooling window) and, for steels, EN 1011-2's formula (shape factor F2 = 1)
  for the same heat input.
- :func:`joint_step`: the temperature step across the joint line (it halves with the cell size
  where the field is continuous; compare two grid sizes).
- :func:`peak_temperatures`: hottest point of each material against its melting and boiling points.
- :func:`after_arc_off`: how warm the plate still is a second after the arc went out, and how far
  the heat reached 0.2 s after ignition.
- :func:`band_power_difference`: the same run with one sensor at another rate (rate independence).
- :func:`short_circuit_line`, :func:`shop_noise_level`: what the microphone hears.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import brentq
from scipy.signal import hilbert, welch
from scipy.special import k0e
from weldfusion.datasets.simulated import SimConfig, simulate_run, simulated_sensors
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import MATERIAL_PAIRS
from weldfusion.sensors.acoustic.sound_rules import P_REF_PA, a_weighting_db
from weldfusion.sensors.electrical.physics import process_efficiency
from weldfusion.sensors.materials import MATERIALS, PAIRS, get_pair
from weldfusion.sensors.scenario import CONTROL_RATE, Scenario, make_scenario
from weldfusion.sensors.thermal.conduction import H_CONVECTION, SIGMA_SB, T_AMBIENT_C, solve_heat_flow

#: Cooling-time window (degC): t8/5, for every material melting above 1000 degC; lower-melting
#: ones (aluminium) use 0.8 / 0.5 x the melting point.
T85_WINDOW_C = (800.0, 500.0)
#: Ferritic steels, for which EN 1011-2's t8/5 formula holds (it is calibrated on them).
FERRITIC = ("DC04",)


def steady_scenario(pair: str, process: str | None, material: str | None = None, duration_s: float = 20.0,
                    seed: int = 5) -> Scenario:
    """A run at constant nominal set points, straight travel, no weaving, no defects.

    ``material`` replaces both halves of the plate (a plate of one material, no torch offset).
    """
    spec = get_pair(pair)
    if material is not None:
        spec = dataclasses.replace(spec, material_a=material, material_b=material, torch_offset_mm=0.0)
    scn = make_scenario(spec, process, duration_s, [seed, 1, 2, 3], defects=[])
    p = scn.params
    scn.current = np.where(scn.arc, p.current_a, 0.0)
    scn.voltage = np.where(scn.arc, p.voltage_v, 0.0)
    scn.travel = np.where(scn.arc, p.travel_mm_s, 0.0)
    scn.torch_x = np.concatenate([[0.0], np.cumsum(0.5 * (scn.travel[1:] + scn.travel[:-1]) / CONTROL_RATE)])
    scn.weave = np.zeros_like(scn.t)
    return scn


def cooling_window(material: str) -> tuple[float, float]:
    """(T_high, T_low) degC of the cooling time reported for ``material``."""
    tm = MATERIALS[material].melting_point_c
    return T85_WINDOW_C if tm > 1000.0 else (0.8 * tm, 0.5 * tm)


def rosenthal_cooling_s(q_j_mm: float, thickness_mm: float, material: str, t0: float,
                        window: tuple[float, float]) -> float:
    """Rosenthal thin-plate cooling time between ``window`` temperatures for heat input ``q`` J/mm."""
    m = MATERIALS[material]
    t_hi, t_lo = window
    q_area = q_j_mm / thickness_mm * 1e6  # J/m^2
    return q_area**2 / (4 * np.pi * m.conductivity * m.density * m.specific_heat) * (
        (1 / (t_lo - t0)) ** 2 - (1 / (t_hi - t0)) ** 2)


def rosenthal_losses_cooling_s(power_w: float, travel_mm_s: float, thickness_mm: float, material: str, t0: float,
                               window: tuple[float, float], h_w_m2k: float) -> float:
    """Rosenthal's thin plate with surface losses: cooling time (s) between ``window`` temperatures on
    the weld centre line behind a moving line source of ``power_w`` W absorbed.

    The quasi-steady field (Rosenthal 1946) is ``T - T0 = Q / (2 pi k d) exp(v r / 2a)
    K0(r sqrt((v / 2a)^2 + H / (k d)))`` at distance ``r`` behind the source, ``H`` the loss
    coefficient of both faces together (W/m^2K); ``H = 0`` is the adiabatic plate of
    :func:`rosenthal_cooling_s`. A centre-line point ``r`` behind the source is ``r / v`` after it passed.
    """
    m = MATERIALS[material]
    k, d, v = m.conductivity, thickness_mm * 1e-3, travel_mm_s * 1e-3
    a = k / (m.density * m.specific_heat)
    lam = np.sqrt((v / (2 * a)) ** 2 + h_w_m2k / (k * d))
    amp = power_w / (2 * np.pi * k * d)

    def excess(r: float) -> float:  # log-space: exp(v r / 2a) and K0 over/underflow far behind
        return np.log(amp) + v * r / (2 * a) + np.log(k0e(lam * r)) - lam * r

    def distance(temp_c: float) -> float:
        target = np.log(temp_c - t0)
        lo, hi = 1e-7, 1e-3
        while excess(hi) > target:
            hi *= 2.0
        return brentq(lambda r: excess(r) - target, lo, hi, xtol=1e-12)

    t_hi, t_lo = window
    return (distance(t_lo) - distance(t_hi)) / v


def loss_coefficient(material: str, window: tuple[float, float], t0: float) -> float:
    """Surface loss coefficient of both faces (W/m^2K) the heat-flow solver applies, linearised at the
    middle of the cooling window: free convection from both faces plus radiation from the top face."""
    m = MATERIALS[material]
    tk, t0k = 0.5 * sum(window) + 273.15, T_AMBIENT_C + 273.15
    h_rad = m.emissivity * SIGMA_SB * 1e6 * (tk**2 + t0k**2) * (tk + t0k)  # SIGMA_SB is W/(mm^2 K^4)
    return 2.0 * H_CONVECTION * 1e6 + h_rad


def en1011_t85_s(q_kj_mm: float, thickness_mm: float, t0: float) -> float:
    """EN 1011-2 (Annex D) two-dimensional t8/5 of steel, shape factor F2 = 1."""
    return (4300 - 4.3 * t0) * 1e5 * q_kj_mm**2 / thickness_mm**2 * ((1 / (500 - t0)) ** 2 - (1 / (800 - t0)) ** 2)


def cooling_time(pair: str, process: str | None, material: str, dx: float = 0.8, losses: bool = True) -> dict:
    """Measured cooling time on the centre line of a steady weld on a plate of ``material``.

    Returns a dict: ``measured_s``, ``rosenthal_s``, ``en1011_s`` (steels, else None), ``window_c``,
    ``heat_input_kj_mm``, ``peak_c`` (at the probe). The solve runs on after the weld for three
    times the Rosenthal estimate (at most 150 s).
    """
    scn = steady_scenario(pair, process, material)
    tm = 0.5 * (scn.ignition_s + scn.extinction_s)
    x_probe = max(float(np.interp(tm, scn.t, scn.torch_x)), float(scn.torch_x[-1]) - 100.0)  # stays on the grid
    window = cooling_window(material)
    t0 = scn.pair.preheat_c
    p = scn.params
    q = process_efficiency(scn.process) * p.voltage_v * p.current_a / p.travel_mm_s  # J/mm
    estimate = float(rosenthal_cooling_s(q, scn.pair.thickness_mm, material, t0, window))
    with_losses = rosenthal_losses_cooling_s(q * p.travel_mm_s, p.travel_mm_s, scn.pair.thickness_mm, material, t0,
                                             window, loss_coefficient(material, window, t0) if losses else 0.0)
    until = scn.duration_s + min(150.0, 10.0 + 3.0 * estimate)
    heat = _solve(scn, np.array([[x_probe, dx / 2]]), dx, losses, until_s=until)
    temp, times = heat.probe_c[:, 0], heat.step_times
    k = int(np.nanargmax(temp))
    after = temp[k:]

    def crossing(value: float) -> float:
        below = np.nonzero(after < value)[0]
        return float(times[k + below[0]]) if below.size else float("nan")

    return {
        "material": material,
        "window_c": list(window),
        "heat_input_kj_mm": q / 1000.0,
        "peak_c": float(temp[k]),
        "measured_s": crossing(window[1]) - crossing(window[0]),
        "rosenthal_s": estimate,
        "rosenthal_losses_s": float(with_losses),
        "en1011_s": float(en1011_t85_s(q / 1000.0, scn.pair.thickness_mm, t0)) if material in FERRITIC else None,
    }


def _solve(scn: Scenario, probes: np.ndarray, dx: float, losses: bool = True, until_s: float | None = None):
    return solve_heat_flow(scn, probes=probes, dx=dx, behind_mm=150.0, until_s=until_s, losses=losses)


def joint_step(pair: str, process: str | None = None, dx: float = 0.4, seed: int = 0) -> float:
    """Temperature step (K) between the two cells either side of the joint over a short weld: the
    90th percentile over the steps and points where the hotter side is 300 K above preheat.

    A continuous field has a step that shrinks in proportion to ``dx`` (it is the gradient times
    the distance between the cell centres); two independent plates keep a step of hundreds of
    kelvin at any grid. (The largest steps do not shrink: they sit where one side is pinned at
    its melting point while the front passes, or, in a keyhole, at the two boiling points.)
    Probes at +-dx/2 every 0.5 mm over the middle 10 mm of the weld.
    """
    scn = make_scenario(pair, process, 6.0, [seed, 7, 7, 7], defects=[])
    tm = 0.5 * (scn.weld_start_s + scn.weld_end_s)
    xs = float(np.interp(tm, scn.t, scn.torch_x)) + np.arange(-5.0, 5.0, 0.5)
    probes = np.concatenate([np.column_stack([xs, np.full(xs.size, -dx / 2)]),
                             np.column_stack([xs, np.full(xs.size, dx / 2)])])
    heat = solve_heat_flow(scn, probes=probes, dx=dx, behind_mm=20.0, ahead_mm=12.0, fine_half_mm=6.0)
    a, b = heat.probe_c[:, : xs.size], heat.probe_c[:, xs.size:]
    hot = np.fmax(a, b) > scn.pair.preheat_c + 300.0
    step = np.abs(b - a)[hot]
    return float(np.percentile(step, 90)) if step.size else float("nan")


def peak_temperatures(pair: str, process: str | None = None, seed: int = 0) -> dict:
    """Hottest point of each material over a run, with its melting and boiling points (degC)."""
    scn = make_scenario(pair, process, 10.0, [seed, 7, 7, 7], defects=[])
    heat = solve_heat_flow(scn)
    out = {}
    for i, m in enumerate((scn.pair.a, scn.pair.b)):
        out[m.name] = {"peak_c": float(heat.peak_c[:, i].max()), "melting_c": m.melting_point_c,
                       "boiling_c": m.boiling_point_c}
    return out


def after_arc_off(pair: str, process: str | None = None, seed: int = 0) -> dict:
    """Plate temperatures around the start and the end of the arc (degC).

    ``hottest_1s_after_off_c``: hottest cell one second after the arc went out;
    ``behind_at_ignition_c``: hottest point 15 mm behind the torch 0.2 s after ignition
    (plate that was never welded: it must still be near the preheat ``preheat_c``).
    """
    scn = make_scenario(pair, process, 10.0, [seed, 7, 7, 7], defects=[])
    x0 = float(np.interp(scn.ignition_s, scn.t, scn.torch_x))
    probes = np.column_stack([np.full(5, x0 - 15.0), np.linspace(-4.0, 4.0, 5)])
    heat = solve_heat_flow(scn, probes=probes, until_s=scn.extinction_s + 1.5)
    i_off = int(np.searchsorted(heat.step_times, scn.extinction_s + 1.0))
    i_ign = int(np.searchsorted(heat.step_times, scn.ignition_s + 0.2))
    return {
        "preheat_c": scn.pair.preheat_c,
        "hottest_1s_after_off_c": float(heat.peak_c[min(i_off, heat.step_times.size - 1)].max()),
        "behind_at_ignition_c": float(np.nanmax(heat.probe_c[i_ign])),
    }


#: Default rate of each simulated sensor (Hz) and the field of :class:`SimConfig` that sets it.
RATE_FIELDS = {"video": "video_rate", "thermal": "thermal_rate", "acoustic": "acoustic_rate",
               "electrical": "electrical_rate", "laser_monitor": "laser_monitor_rate", "fsw_machine": "fsw_machine_rate"}


def rate_modalities(pair: str, process: str | None = None) -> tuple[str, ...]:
    """The sensors of :data:`RATE_FIELDS` that every simulated run of ``pair`` / ``process`` has."""
    process = process or PAIRS[pair].default_process
    have = set(simulated_sensors(process)) | ({"laser_monitor"} if process == "laser" else set())
    return tuple(m for m in RATE_FIELDS if m in have)


def sensor_signals(run) -> dict[str, np.ndarray]:
    """One or more 1-D signals per sensor of a simulated run, (n, k) at its rate: the microphone;
    the four DAQ channels; the laser monitor's four channels; the IR frame mean and the hottest
    pixel; the video frame mean."""
    out = {}
    for name, s in run.streams.items():
        d = np.asarray(s.data, dtype=np.float64)
        if name == "acoustic":
            out[name] = d.reshape(d.shape[0], -1)[:, :1]
        elif name in ("electrical", "laser_monitor", "fsw_machine"):
            out[name] = d
        elif name == "thermal":
            out[name] = np.column_stack([d.mean(axis=(1, 2)), d.max(axis=(1, 2))])
        elif name == "video":
            out[name] = d.mean(axis=(1, 2))[:, None]
    return out


def band_power_difference(pair: str, modality: str, factor: float, seed: int = 0, duration_s: float = 6.0,
                          bands: int = 6) -> float:
    """Largest |difference| (dB) of Welch band powers between the same run simulated with
    ``modality`` at its default rate and at ``factor`` x that rate.

    Bands are log-spaced from 2 Hz (20 Hz for the microphone) to 0.8 x the lower Nyquist frequency
    for the sampled signals (their anti-aliasing filter leaves that band alone) and to 0.5 x it for
    the cameras, which have no temporal anti-aliasing filter: what lies above their Nyquist
    frequency (the arc's short-circuit flicker, the step at ignition) folds into the top of their
    band, differently at each rate. Each signal of :func:`sensor_signals` counts.
    """
    if modality not in rate_modalities(pair):
        raise InvalidInput(f"{pair} runs have no {modality} sensor (they have: {', '.join(rate_modalities(pair))})")
    base = SimConfig(duration_s=(duration_s, duration_s), missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)
    field = RATE_FIELDS[modality]
    rate0 = getattr(base, field)
    other = dataclasses.replace(base, **{field: rate0 * factor})
    sig = [sensor_signals(simulate_run(pair, None, 0, seed, cfg))[modality] for cfg in (base, other)]
    rates = (rate0, rate0 * factor)
    f_hi = (0.5 if modality in ("video", "thermal") else 0.8) * min(rates) / 2
    f_lo = 20.0 if modality == "acoustic" else 2.0
    edges = np.geomspace(f_lo, f_hi, bands + 1)
    seg_s = max(4.0 / f_lo, 0.25)
    powers = []
    for x, r in zip(sig, rates):
        f, p = welch(x, fs=r, nperseg=min(x.shape[0], int(seg_s * r)), axis=0)
        powers.append(np.array([np.trapezoid(p[(f >= lo) & (f < hi)], f[(f >= lo) & (f < hi)], axis=0)
                                for lo, hi in zip(edges[:-1], edges[1:])]))
    a, b = powers
    ok = (a > 0) & (b > 0)
    return float(np.max(np.abs(10 * np.log10(b[ok] / a[ok])))) if ok.any() else float("nan")


def short_circuit_line(pair: str = "Al-steel", seed: int = 0) -> dict:
    """The short-circuit rhythm in the microphone of a GMAW run.

    The microphone hears ``d(UI)/dt``: each short circuit is a pop whose energy lies at 0.5-5 kHz,
    so the rhythm shows as a line in the spectrum of the sound's envelope (|Hilbert transform|), as
    in an arc-sound analyser's demodulated spectrum. Returns ``sc_rate_hz`` (short circuits per
    second while welding, from the scenario), ``line_hz`` (the strongest line of the envelope
    spectrum between 20 and 250 Hz) and ``line_db`` (its height above the median of that range, dB).
    """
    base = SimConfig(duration_s=(10.0, 10.0), missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)
    run = simulate_run(pair, "GMAW", 0, seed, base, defects=[])
    scn = run.scenario
    s = run.streams["acoustic"]
    x = np.asarray(s.data, dtype=np.float64).reshape(s.data.shape[0], -1)[:, 0]
    i0, i1 = int((scn.weld_start_s + 0.3) * s.rate), int((scn.weld_end_s - 0.3) * s.rate)
    envelope = np.abs(hilbert(x[i0:i1]))
    f, p = welch(envelope - envelope.mean(), fs=s.rate, nperseg=int(1.0 * s.rate))
    band = (f >= 20.0) & (f <= 250.0)
    k = int(np.argmax(np.where(band, p, 0.0)))
    inside = (scn.sc_start > scn.weld_start_s + 0.3) & (scn.sc_start < scn.weld_end_s - 0.3)
    return {"sc_rate_hz": float(inside.sum() / (scn.weld_end_s - scn.weld_start_s - 0.6)),
            "line_hz": float(f[k]), "line_db": float(10 * np.log10(p[k] / np.median(p[band])))}


def shop_noise_level(pair: str = "Al-steel", seed: int = 0) -> dict:
    """A-weighted sound level (dB(A) re 20 uPa) of the microphone before the arc and while welding."""
    base = SimConfig(duration_s=(10.0, 10.0), missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)
    run = simulate_run(pair, None, 0, seed, base, defects=[])
    scn = run.scenario
    s = run.streams["acoustic"]
    x = np.asarray(s.data, dtype=np.float64).reshape(s.data.shape[0], -1)[:, 0]

    def level(a: float, b: float) -> float:
        seg = x[int(a * s.rate): int(b * s.rate)]
        spec = np.abs(np.fft.rfft(seg)) ** 2
        f = np.fft.rfftfreq(seg.size, 1.0 / s.rate)
        w = 10 ** (a_weighting_db(f) / 10)
        rms = np.sqrt(2 * np.sum(spec * w) / seg.size**2)
        return float(20 * np.log10(rms / P_REF_PA))

    return {"idle_dba": level(0.05, scn.phases[0].end_s - 0.05),
            "welding_dba": level(scn.weld_start_s + 0.3, scn.weld_end_s - 0.3)}


def all_checks(progress=None) -> dict:
    """Every check above on the default pairs (a few minutes on 2 cores): the ``sim-check`` report.

    ``progress(name)`` is called before each check.
    """
    step = progress or (lambda _name: None)
    out: dict = {"cooling": [], "joint_step_k": {}, "peaks_c": {}, "after_arc_off": {}, "rate_db": {}}
    for name in MATERIAL_PAIRS:  # the arc/beam pairs of the default data (FSW: tests/sensors/test_fsw.py)
        spec = PAIRS[name]
        step(f"heat flow {name}")
        for m in dict.fromkeys((spec.material_a, spec.material_b)):
            out["cooling"].append({"pair": name, "process": spec.default_process, **cooling_time(name, None, m)})
        out["joint_step_k"][name] = {"dx_0.4": joint_step(name, dx=0.4), "dx_0.2": joint_step(name, dx=0.2)}
        out["peaks_c"][name] = peak_temperatures(name)
        out["after_arc_off"][name] = after_arc_off(name)
    for name in MATERIAL_PAIRS:
        step(f"rates {name}")
        out["rate_db"][name] = {f"{m}_x{f:g}": band_power_difference(name, m, f)
                                for m in rate_modalities(name) for f in (0.5, 2.0, 4.0)}
    step("microphone")
    out["short_circuit_line"] = {p: short_circuit_line(p) for p in ("Al-steel", "Cu-SS")}
    out["shop_noise"] = shop_noise_level("Al-steel")
    return out


def format_checks(res: dict) -> str:
    """The :func:`all_checks` report as Markdown tables."""
    lines = ["| pair | material | window (degC) | heat input (kJ/mm) | measured (s) | Rosenthal (s) | EN 1011-2 (s) "
             "| ratio | Rosenthal with losses (s) | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["cooling"]:
        ref = r["en1011_s"] or r["rosenthal_s"]
        en = f"{r['en1011_s']:.2f}" if r["en1011_s"] else "-"
        lines.append(f"| {r['pair']} {r['process']} | {r['material']} | {r['window_c'][0]:.0f}->{r['window_c'][1]:.0f} | "
                     f"{r['heat_input_kj_mm']:.3f} | {r['measured_s']:.2f} | {r['rosenthal_s']:.2f} | {en} | "
                     f"{ref / r['measured_s']:.2f} | {r['rosenthal_losses_s']:.2f} | "
                     f"{max(r['rosenthal_losses_s'], r['measured_s']) / min(r['rosenthal_losses_s'], r['measured_s']):.2f} |")
    lines += ["", "| pair | joint step dx 0.4 / 0.2 mm (K) | peak a / b (degC) | boiling a / b | 1 s after arc-off (degC) |",
              "|---|---|---|---|---|"]
    for p in res["peaks_c"]:
        pk = list(res["peaks_c"][p].values())
        js = res["joint_step_k"][p]
        warm = res["after_arc_off"][p]["hottest_1s_after_off_c"]
        lines.append(f"| {p} | {js['dx_0.4']:.0f} / {js['dx_0.2']:.0f} | {pk[0]['peak_c']:.0f} / {pk[-1]['peak_c']:.0f} | "
                     f"{pk[0]['boiling_c']:.0f} / {pk[-1]['boiling_c']:.0f} | {warm:.0f} |")
    keys = list(dict.fromkeys(k for row in res["rate_db"].values() for k in row))  # a pair has only its sensors
    lines += ["", "| pair | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for p, row in res["rate_db"].items():
        lines.append(f"| {p} | " + " | ".join(f"{row[k]:.2f}" if k in row else "-" for k in keys) + " |")
    sc = res["short_circuit_line"]
    lines += ["", "short-circuit line (microphone envelope): " + "; ".join(
        f"{p}: {v['line_hz']:.0f} Hz, +{v['line_db']:.1f} dB (short circuits {v['sc_rate_hz']:.0f}/s)" for p, v in sc.items()),
        f"shop noise: {res['shop_noise']['idle_dba']:.1f} dB(A) idle, {res['shop_noise']['welding_dba']:.1f} dB(A) welding"]
    return "\n".join(lines)
