"""What a microphone hears at a friction stir weld: the tool, the spindle drive and the shop.

No arc, so none of Drouet's arc sound. Instead (all drawn at the microphone simulator's internal
rate, then band-limited and resampled like the arc sound, so the same seed at two rates agrees):

* the tool: tonal lines at the rotation frequency's harmonics — the pin's three flats pass the
  joint three times a turn (:data:`PIN_FLATS` x f_rot is the strongest line), its level growing with
  the mechanical power — plus broadband friction / plastic-flow noise (200 Hz-5 kHz) ~ sqrt(power);
* the spindle drive: motor / gearbox whine at :data:`GEAR_RATIO` x f_rot while the spindle turns;
* the shop-noise floor of :func:`weldfusion.sensors.acoustic.sound_rules.shop_noise`;
* imperfections: ``tunnel`` knocks — the flats' line modulated at f_rot as the cavity behind the
  pin opens and closes; ``galling`` squeals — stick-slip bursts of 1.5-3.5 kHz tone, 20-60 ms each;
  ``flash`` scrapes — broadband bursts as expelled metal tears off at the shoulder's edge.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import sosfilt
from weldfusion.sensors.acoustic.sound_rules import REF_RATE, add_bursts, band_sos

#: Flats of the pin (a three-flat / triflute pin): the tool line at this multiple of f_rot.
PIN_FLATS = 3
#: Spindle motor / gearbox: whine at this multiple of the tool's rotation frequency.
GEAR_RATIO = 37.0
#: Tool line level (Pa RMS) at nominal mechanical power; friction noise (Pa RMS at REF density); drive whine (Pa RMS).
TOOL_LINE_PA, FRICTION_PA, WHINE_PA = 0.25, 0.08, 0.05


def fsw_sound(scn, heat, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Sound pressure (n,) Pa at ``rate`` of a friction stir weld (before the microphone's band and
    without the shop floor, which the caller adds)."""
    n = round(scn.duration_s * rate)
    t = np.arange(n) / rate
    rpm = scn.at("spindle_rpm", t)
    f_rot = rpm / 60.0
    phase = 2.0 * np.pi * np.cumsum(f_rot) / rate
    rel = np.clip(heat.power_at(t) / max(scn.nominal_power_w * 0.9, 1.0), 0.0, 2.0)  # absorbed vs nominal
    white = rng.standard_normal((2, n)) * np.sqrt(rate / REF_RATE)
    knock = np.ones(n)
    tunnel = scn.envelope("tunnel", t)
    if tunnel.any():
        knock = 1.0 + 1.2 * tunnel * np.sin(phase + 0.3)
    tool = TOOL_LINE_PA * np.sqrt(rel) * knock * sum(
        a * np.sin(k * phase + 0.5 * k) for k, a in ((PIN_FLATS, 1.0), (2 * PIN_FLATS, 0.5), (1, 0.2), (2, 0.15)))
    friction = FRICTION_PA * np.sqrt(rel) * sosfilt(band_sos(rate, 200.0, 5000.0), white[0])
    whine = WHINE_PA * (rpm > 1.0) * np.sin(GEAR_RATIO * phase)
    out = tool + friction + whine
    for ev in scn.defects:
        erng = np.random.default_rng([ev.seed, 23])
        if ev.label == "galling":  # stick-slip squeal
            nb = erng.poisson(12.0 * ev.severity * (ev.end_s - ev.start_s))
            starts = np.sort(erng.uniform(ev.start_s, ev.end_s, nb))
            kernels = []
            for _ in range(nb):
                m = max(8, int(erng.uniform(0.02, 0.06) * rate))
                f = min(erng.uniform(1500.0, 3500.0), 0.4 * rate)
                tt = np.arange(m) / rate
                kernels.append(0.4 * ev.severity * np.hanning(m) * np.sin(2 * np.pi * f * tt + erng.uniform(0, 6.3)))
            add_bursts(out, rate, starts, kernels)
        elif ev.label == "flash":  # metal tearing off at the shoulder's edge
            nb = erng.poisson(25.0 * ev.severity * (ev.end_s - ev.start_s))
            starts = np.sort(erng.uniform(ev.start_s, ev.end_s, nb))
            sos = band_sos(rate, 800.0, 6000.0)
            kernels = []
            for _ in range(nb):
                m = max(8, int(erng.uniform(0.005, 0.015) * rate))
                kernels.append(0.3 * ev.severity * np.hanning(m) * sosfilt(sos, erng.standard_normal(m) * np.sqrt(rate / REF_RATE)))
            add_bursts(out, rate, starts, kernels)
    return out
