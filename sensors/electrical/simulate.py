"""Physical simulator of the welding power source as a DAQ sees it.

Two steps:

1. :func:`arc_waveforms` computes current and voltage at the arc at a high physics rate
   (40 kHz), with the GMAW short-circuit transfer cycle:

   * arcing: ``U = U_set + R_arc (I - I_set)`` plus a droplet sawtooth (the arc shortens while the
     droplet grows, so the voltage sags before each short) and inverter/rectifier ripple;
   * short circuit: the arc extinguishes, the voltage collapses to ``1 V + R_short I``
     (a few volts) and the current rises with the circuit time constant ``L/R``
     towards ``gain * I_set``;
   * re-ignition: a voltage spike decays in ~0.15 ms, the current falls back to ``I_set``.

   TIG has no short circuits (a calmer arc with plasma noise). For ``laser`` the channels are the
   laser diode driver's current and voltage, calibrated so that ``U * I`` equals the beam power;
   nothing in the work piece reaches them.
   Defects: lack_of_fusion (+0.6 V, -3 % I) and burn_through (+3 V, -12 % I, short circuits
   removed in the scenario) for arc processes; spatter changes the short circuits themselves.
2. :func:`simulate` samples the DAQ channels (current, voltage, wire_feed, travel_speed) at the
   stream rate with an anti-aliasing polyphase resampler, sensor offsets and noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import butter, lfilter, resample_poly, sosfilt
from weldfusion.sensors.scenario import Scenario

#: Rate (Hz) of the physical current/voltage waveforms that DAQ and microphone sample.
PHYSICS_RATE = 40_000.0
#: Circuit time constant L/R of the current rise during a short (s).
TAU_SHORT_S = 1.8e-3
#: Decay of the current back to the set point after re-ignition (s).
TAU_REIGNITION_S = 1.2e-3
#: Decay of the re-ignition voltage spike (s).
TAU_SPIKE_S = 1.5e-4
#: Resistance of the shorted wire and contact (ohm) -> a few volts during the short.
R_SHORT_OHM = 0.012
#: Dynamic arc resistance (ohm).
R_ARC_OHM = 0.04
#: DAQ noise amplitudes are per sample at this rate (where they were calibrated).
DAQ_REF_RATE = 5_000.0
#: Droplet sawtooth amplitude of the arc voltage (V).
DROPLET_SAG_V = 1.2


@dataclass
class ArcWaveforms:
    """Current, voltage and arc state at :data:`PHYSICS_RATE`.

    Attributes:
        rate: Hz.
        current: (n,) A.  voltage: (n,) V.
        arc_on: (n,) bool, arc (or laser beam) burning; False during short circuits.
        energised: (n,) bool, arc burning or wire shorted (power goes into the work piece).
    """

    rate: float
    current: np.ndarray
    voltage: np.ndarray
    arc_on: np.ndarray
    energised: np.ndarray

    @property
    def n(self) -> int:
        return self.current.size

    @property
    def arc_power(self) -> np.ndarray:
        """Power in the arc (beam power for laser), W, (n,); 0 when there is no arc."""
        return self.current * self.voltage * self.arc_on

    @property
    def input_power(self) -> np.ndarray:
        """Electrical (or beam) power delivered to the process, W, (n,)."""
        return self.current * self.voltage * self.energised


def resample_to(x: np.ndarray, rate_in: float, rate_out: float, n_out: int) -> np.ndarray:
    """Anti-aliased polyphase resampling of ``x`` (n,) from ``rate_in`` to ``rate_out``, length ``n_out``."""
    ratio = Fraction(rate_out / rate_in).limit_denominator(1000)
    if ratio == 1:
        y = np.asarray(x, dtype=np.float64)
    else:
        y = resample_poly(np.asarray(x, dtype=np.float64), ratio.numerator, ratio.denominator, padtype="line")
    if y.size >= n_out:
        return y[:n_out]
    return np.concatenate([y, np.full(n_out - y.size, y[-1] if y.size else 0.0)])


def lag(x: np.ndarray, tau_s: float, rate: float) -> np.ndarray:
    """First-order lag of time constant ``tau_s`` (s) of ``x`` (n,) sampled at ``rate`` Hz."""
    alpha = 1.0 - np.exp(-1.0 / (tau_s * rate))
    return lfilter([alpha], [1.0, alpha - 1.0], x)


def _coloured_noise(rng: np.random.Generator, n: int, rate: float, cutoff_hz: float) -> np.ndarray:
    """Unit-variance Gaussian noise low-passed at ``cutoff_hz`` (n,)."""
    sos = butter(2, cutoff_hz, btype="low", fs=rate, output="sos")
    y = sosfilt(sos, rng.standard_normal(n))
    return y / (y.std() + 1e-12)


def arc_waveforms(scn: Scenario, rate: float = PHYSICS_RATE) -> ArcWaveforms:
    """Current and voltage at the arc for the whole run (see module docstring)."""
    rng = scn.rng("electrical")
    n = round(scn.duration_s * rate)
    t = np.arange(n) / rate
    i_set = scn.at("current", t)
    u_set = scn.at("voltage", t)
    arc = (t >= scn.ignition_s) & (t < scn.extinction_s)
    source = (t >= scn.source_on_s) & (t < scn.source_off_s)
    plasma_u = _coloured_noise(rng, n, rate, 2000.0)
    plasma_i = _coloured_noise(rng, n, rate, 800.0)
    ripple_phase = rng.uniform(0, 2 * np.pi)
    if scn.process != "laser":
        # arc root on the other material shifts the cathode/anode fall (seen while weaving)
        u_set = u_set + scn.pair.side_voltage_v * np.tanh(scn.at("weave", t) / 1.0)
        lof = scn.envelope("lack_of_fusion", t)
        burn = scn.envelope("burn_through", t)
        u_set = u_set + 0.6 * lof + 3.0 * burn
        i_set = i_set * (1.0 - 0.03 * lof) * (1.0 - 0.12 * burn)

    current, voltage, short = i_set.copy(), u_set.copy(), np.zeros(n, dtype=bool)
    if scn.has_short_circuits and scn.sc_start.size:
        k = np.searchsorted(scn.sc_start, t, side="right") - 1
        has = k >= 0
        kk = np.maximum(k, 0)
        tau = t - scn.sc_start[kk]
        dur = scn.sc_dur[kk]
        short = has & (tau < dur) & arc
        after = np.where(has, tau - dur, 10.0)
        after_pos = np.maximum(after, 0.0)
        i_peak = i_set * scn.sc_gain[kk]
        i_short = i_set + (i_peak - i_set) * (1.0 - np.exp(-np.maximum(tau, 0.0) / TAU_SHORT_S))
        i_end = i_set + (i_peak - i_set) * (1.0 - np.exp(-dur / TAU_SHORT_S))
        i_arc = i_set + np.where(has, (i_end - i_set) * np.exp(-after_pos / TAU_REIGNITION_S), 0.0)
        period = 1.0 / max(scn.params.sc_rate_hz, 1.0)
        sag = DROPLET_SAG_V * (0.5 - np.clip(after_pos / period, 0.0, 1.0))
        spike = np.where(has, scn.sc_spike[kk] * np.exp(-after_pos / TAU_SPIKE_S), 0.0)
        u_arc = u_set + R_ARC_OHM * (i_arc - i_set) + sag + spike
        current = np.where(short, i_short, i_arc)
        voltage = np.where(short, 1.0 + R_SHORT_OHM * i_short, u_arc)
    noise_u = {"GMAW": 0.25, "TIG": 0.15, "laser": 0.03}[scn.process]
    noise_i = {"GMAW": 1.5, "TIG": 1.0, "laser": 0.1}[scn.process]
    ripple = np.sin(2 * np.pi * 300.0 * t + ripple_phase)  # 6-pulse rectifier / inverter beat
    current = current * (1.0 + 0.008 * ripple) + noise_i * plasma_i
    voltage = voltage + np.where(short, 0.0, 0.12 * ripple + noise_u * plasma_u)
    current = np.where(arc, current, 0.0)
    voltage = np.where(arc, voltage, np.where(source, scn.params.ocv_v, 0.0))
    return ArcWaveforms(rate, current, voltage, arc & ~short, arc)


def simulate(scn: Scenario, wave: ArcWaveforms, rate: float) -> np.ndarray:
    """DAQ channels at ``rate`` Hz -> (N, 4) float32: current A, voltage V, wire_feed m/min, travel_speed mm/s.

    ``N = round(duration_s * rate)``; sample ``i`` is at ``i / rate`` s. The sensors' noise is drawn
    at the physics rate with a fixed spectral density (the amplitudes below are per sample at
    :data:`DAQ_REF_RATE`) and the DAQ's anti-aliasing resampler then brings every channel onto its
    clock, so the same run at two DAQ rates agrees below the lower Nyquist frequency.
    """
    rng = scn.rng("daq")
    n = round(scn.duration_s * rate)
    fs = wave.rate
    m = wave.n
    t = np.arange(m) / fs
    density = np.sqrt(fs / DAQ_REF_RATE)
    gain = 1.0 + rng.normal(0.0, 0.005)  # current clamp calibration
    offsets = rng.normal(0.0, 0.4), rng.normal(0.0, 0.03)
    noise = rng.standard_normal((4, m)) * density
    current = gain * wave.current + offsets[0] + 0.8 * noise[0]
    voltage = wave.voltage + offsets[1] + 0.06 * noise[1]
    roll = 1.0 + 0.01 * np.sin(2 * np.pi * rng.uniform(6.0, 10.0) * t)  # drive-roll eccentricity
    wire = scn.at("wire_feed", t) * roll + 0.02 * noise[2]
    travel = scn.at("travel", t) + 0.03 * noise[3]
    channels = [resample_to(c, fs, rate, n) for c in (current, voltage, wire, travel)]
    return np.stack(channels, axis=1).astype(np.float32)  # (N, 4)
