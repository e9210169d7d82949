"""Physical simulator of a laser cell's process monitor: (N, 4) float32 at the monitor's rate.

* ``laser_power`` (W): the beam power the controller measures — the run's set-point power with
  its ramps (the diode driver's U·I of the scenario) through a 1 ms power-meter lag, 0.3 % noise;
* ``plasma`` (V): the plume's emission, proportional to beam power and modulated by the plume's
  flicker — the same flicker the high-speed camera sees (:func:`weldfusion.sensors.plume.plume_flicker`);
* ``temperature`` (V): thermal radiation of the melt pool, proportional to the molten area of the
  heat flow (it lags the power as the pool grows and shrinks, and stays up a moment after the beam);
* ``back_reflection`` (V): laser light reflected out of the keyhole, proportional to beam power,
  with the keyhole's own fluctuation (1 ms correlation).

Defects: porosity collapses the keyhole (~40 collapses/s per unit severity, 1.5 ms each: back
reflection jumps, plasma dips), burn_through lets the beam leave through the root (back reflection
and plasma drop), lack_of_fusion narrows the pool (lower temperature signal, through the heat flow).
Every component is drawn at :data:`MONITOR_PHYSICS_RATE` (noise as a density referred to
:data:`NOISE_REF_RATE`) and resampled onto the monitor's clock, so two rates agree below the lower
Nyquist frequency.
"""

from __future__ import annotations

import numpy as np
from weldfusion.sensors.electrical.simulate import lag, resample_to
from weldfusion.sensors.plume import PLUME_RATE, plume_flicker
from weldfusion.sensors.scenario import Scenario, event_envelope
from weldfusion.sensors.thermal.conduction import HeatFlow

#: Internal rate (Hz) every component is drawn at before the monitor's anti-aliasing resampler.
MONITOR_PHYSICS_RATE = 40_000.0
#: Rate at which the amplifier noise amplitudes below hold (the noise is a spectral density).
NOISE_REF_RATE = 10_000.0
#: Photodiode gains at nominal beam power (V) and amplifier noise (V RMS at NOISE_REF_RATE).
PLASMA_V, TEMPERATURE_V, REFLECTION_V = 2.0, 1.5, 0.8
NOISE_V = 0.01
#: Pool size (half width x length, mm^2) at which the temperature photodiode reads TEMPERATURE_V.
REF_POOL_MM2 = 12.0
#: Keyhole collapses under porosity: rate per second per unit severity, duration (s).
COLLAPSE_RATE, COLLAPSE_S = 40.0, 0.0015


def simulate(scn: Scenario, heat: HeatFlow, rate: float) -> np.ndarray:
    """Laser-monitor channels (N, 4) float32 at ``rate`` Hz (``laser_power`` W, three photodiodes V)."""
    rng = scn.rng("laser_monitor")
    fs = MONITOR_PHYSICS_RATE
    t = np.arange(round(scn.duration_s * fs)) / fs
    power = np.interp(t, scn.t, scn.current * scn.voltage * scn.arc)  # W, beam on only while it burns
    p_nom = scn.params.current_a * scn.params.voltage_v
    rel = power / p_nom
    burn = scn.envelope("burn_through", t)

    flicker = np.interp(t, np.arange(round(scn.duration_s * PLUME_RATE)) / PLUME_RATE, plume_flicker(scn))
    keyhole = np.convolve(rng.standard_normal(t.size), np.exp(-np.arange(int(5e-3 * fs)) / (1e-3 * fs)), mode="same")
    keyhole /= max(float(keyhole.std()), 1e-9)
    collapse = np.zeros(t.size)
    for ev in scn.events("porosity"):
        erng = np.random.default_rng([ev.seed, 31])
        n = erng.poisson(COLLAPSE_RATE * ev.severity * (ev.end_s - ev.start_s))
        starts = np.sort(erng.uniform(ev.start_s, ev.end_s, n))
        i0 = np.round(starts * fs).astype(np.int64)
        width = max(1, round(COLLAPSE_S * fs))
        for k in i0:
            collapse[k:k + width] = np.maximum(collapse[k:k + width], event_envelope(ev, np.array([k / fs]))[0])

    hw, ln = heat.pool_at(t)
    area = hw * ln / REF_POOL_MM2  # molten area (half width x length, mm^2) against a typical keyhole pool

    density = np.sqrt(fs / NOISE_REF_RATE)
    noise = NOISE_V * density * rng.standard_normal((t.size, 3))
    plasma = PLASMA_V * rel * (1.0 + 0.35 * flicker).clip(0.1) * (1.0 - 0.6 * burn) * (1.0 - 0.5 * collapse)
    temperature = TEMPERATURE_V * np.clip(area, 0.0, 3.0)
    reflection = REFLECTION_V * rel * (1.0 + 0.25 * keyhole).clip(0.0) * (1.0 - 0.8 * burn) * (1.0 + 1.5 * collapse)
    measured = lag(power, 1e-3, fs) * (1.0 + 0.003 * rng.standard_normal(t.size))
    fine = np.stack([measured, plasma + noise[:, 0], temperature + noise[:, 1], reflection + noise[:, 2]], axis=1)
    n_out = round(scn.duration_s * rate)
    return np.stack([resample_to(fine[:, j], fs, rate, n_out) for j in range(4)], axis=1).astype(np.float32)
