"""Physical simulator of an acoustic-emission sensor (piezo on the plate, after its preamplifier), V.

* sensor noise: band-limited preamplifier noise, 1.5 mV RMS (its band lies below every AE rate
  used, so its RMS does not depend on the rate);
* process ultrasound while the arc / beam burns: noise above 80 kHz, 4 mV RMS;
* crack hits: damped 120-300 kHz bursts (rise 5 us, decay 60-250 us) at the times and amplitudes
  of :func:`~weldfusion.sensors.acoustic.simulate.crack_hits` — the same hits whose faint
  air-borne ticks the microphone hears.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt
from weldfusion.sensors.acoustic.simulate import crack_hits
from weldfusion.sensors.acoustic.sound_rules import add_bursts
from weldfusion.sensors.electrical.simulate import ArcWaveforms
from weldfusion.sensors.scenario import Scenario


def simulate(scn: Scenario, wave: ArcWaveforms, rate: float) -> np.ndarray:
    """Acoustic-emission sensor output (N,) float32 V at ``rate`` Hz (>= 200 kHz: the hits' band)."""
    rng = scn.rng("ae")
    n = round(scn.duration_s * rate)
    t = np.arange(n) / rate
    burning = np.interp(t, np.arange(wave.n) / wave.rate, wave.energised.astype(np.float64))
    process = sosfilt(butter(2, min(80e3, 0.4 * rate), btype="high", fs=rate, output="sos"), rng.standard_normal(n))
    out = 0.0015 * rng.standard_normal(n) + 0.004 * burning * process
    for ev in scn.events("crack"):
        erng = np.random.default_rng([ev.seed, 23])
        times, amps = crack_hits(ev)
        kernels = []
        for a in amps:
            f = min(erng.uniform(120e3, 300e3), 0.4 * rate)
            tau = erng.uniform(60e-6, 250e-6)
            tt = np.arange(int(6 * tau * rate) + 2) / rate
            kernels.append(0.05 * a * (1 - np.exp(-tt / 5e-6)) * np.exp(-tt / tau) * np.sin(2 * np.pi * f * tt))
        add_bursts(out, rate, times, kernels)
    return out.astype(np.float32)
