"""Physical simulator of an arc microphone and (optionally) a piezo acoustic-emission sensor.

Microphone ("mic", Pa): an electric arc is an acoustic monopole whose pressure at distance r is
proportional to the time derivative of the arc power (Drouet's relation)::

    p(t) = (gamma - 1) / (4 pi r c^2) * d(U I)/dt

so every short circuit (the arc goes out, then re-ignites with a spike) gives a pop — the
short-circuit rhythm is the line an arc microphone hears best — and parameter changes change the
loudness. On top: turbulent arc hiss growing with arc power, shielding-gas flow noise, a shop
noise floor (pink noise at :data:`SHOP_NOISE_DBA` plus fan / mains hum), and the microphone's band
(:data:`MIC_BAND_HZ`) applied with ``scipy.signal`` filters. The arc power follows the circuit with
the column's thermal lag (0.2 ms), which bounds the pops to realistic levels. A laser has no arc:
its sound is the keyhole / metal-vapour plume noise (0.5-4 kHz) scaled by the beam power.

Rate independence: every component — noise of a given spectral density, events at physical rates
with pulse shapes in seconds — is drawn at one internal rate (:data:`SOUND_RATE`), whatever the
microphone's rate, and then band-limited and resampled onto the microphone's clock. The same seed
at two microphone rates therefore gives the same pressure below the lower Nyquist frequency.

Defects: porosity (bursts of 1.5-5 kHz crackle), spatter (explosive re-ignitions through the
electrical cycle + particle impact clicks), crack (faint 5-7 kHz ticks; its AE hits are the emission sensor's),
burn_through (through the electrical cycle; laser: the plume sound drops). Friction stir welds:
:mod:`.fsw` (the tool's lines, friction noise, the spindle drive).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt
from weldfusion.sensors.acoustic.fsw import fsw_sound
from weldfusion.sensors.acoustic.sound_rules import REF_RATE, SHOP_NOISE_DBA, add_bursts, band_sos, shop_noise
from weldfusion.sensors.electrical.simulate import ArcWaveforms, lag, resample_to
from weldfusion.sensors.scenario import DefectEvent, Scenario
from weldfusion.sensors.thermal.conduction import HeatFlow

GAMMA = 1.4
SOUND_SPEED_M_S = 343.0
MIC_DISTANCE_M = 0.5
#: Microphone band (Hz): a measurement microphone is flat from 20 Hz (the 66-95 Hz short-circuit
#: line must pass); the arc-sound front end rolls off above 7 kHz.
MIC_BAND_HZ = (20.0, 7000.0)
#: Rate (Hz) at which every sound component is drawn before the microphone samples it.
SOUND_RATE = 96_000.0
#: Averaging time of the relative arc power that drives hiss and plume (s).
SMOOTH_S = 0.004
#: Thermal time constant of the arc column: how fast the arc power can follow the circuit (s).
ARC_TAU_S = 2e-4


def crack_hits(ev: DefectEvent) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and relative amplitudes (>= 1, heavy-tailed) of the crack's AE hits."""
    rng = np.random.default_rng([ev.seed, 21])
    n = rng.poisson(30.0 * ev.severity * (ev.end_s - ev.start_s)) + 1
    times = np.sort(rng.uniform(ev.start_s, ev.end_s, n))
    amps = np.minimum(1.0 + rng.pareto(2.0, n), 6.0)
    return times, amps


def _mic(scn: Scenario, wave: ArcWaveforms | None, rate: float, heat: HeatFlow | None = None) -> np.ndarray:
    """Microphone pressure (N,) Pa at ``rate``: the sound drawn at :data:`SOUND_RATE`, band-limited
    to the microphone's band and resampled onto its clock."""
    sound = _sound(scn, wave, SOUND_RATE, heat)
    return resample_to(sosfilt(band_sos(SOUND_RATE, *MIC_BAND_HZ), sound), SOUND_RATE, rate, round(scn.duration_s * rate))


def _sound(scn: Scenario, wave: ArcWaveforms | None, rate: float, heat: HeatFlow | None = None) -> np.ndarray:
    """Sound pressure at the microphone (n,) Pa drawn at ``rate`` (before the microphone's band);
    friction stir welds (no ``wave``) need the solved ``heat`` (the tool's power)."""
    rng = scn.rng("acoustic")
    n = round(scn.duration_s * rate)
    t = np.arange(n) / rate
    if scn.is_fsw:  # the tool, the spindle drive and the shop (:mod:`.fsw`)
        background = shop_noise(rng, n, rate, rng.uniform(*SHOP_NOISE_DBA))
        return background + fsw_sound(scn, heat, rate, rng)
    fs = wave.rate
    if scn.process == "laser":
        arc_sound = np.zeros(n)
    else:
        plasma_power = lag(wave.arc_power, ARC_TAU_S, fs)  # the column heats/cools with a lag
        dpdt = np.gradient(plasma_power) * fs  # W/s
        k = (GAMMA - 1.0) / (4 * np.pi * MIC_DISTANCE_M * SOUND_SPEED_M_S**2)  # Pa per W/s
        arc_sound = resample_to(k * dpdt, fs, rate, n)
    p_nom = scn.params.current_a * scn.params.voltage_v
    power = resample_to(wave.arc_power, fs, rate, n) / p_nom  # relative arc/beam power
    power = np.clip(power, 0.0, None)
    m = max(1, round(SMOOTH_S * rate))
    smooth = np.convolve(power, np.ones(m) / m, mode="same")
    white = rng.standard_normal((3, n)) * np.sqrt(rate / REF_RATE)  # unit density: same Pa/sqrt(Hz) at any rate
    hiss = 0.05 * np.sqrt(smooth) * sosfilt(band_sos(rate, 2000.0, 7000.0), white[0])
    gas = 0.015 * scn.at("gas", t) * sosfilt(butter(1, 1000.0, fs=rate, output="sos"), white[1])
    background = shop_noise(rng, n, rate, rng.uniform(*SHOP_NOISE_DBA))
    out = arc_sound + hiss + gas + background
    if scn.process == "laser":
        plume = 0.25 * smooth * (1.0 - 0.5 * scn.envelope("burn_through", t))
        out = out + plume * sosfilt(band_sos(rate, 500.0, 4000.0), white[2]) / 0.3
    loud = 1.0 if scn.process == "laser" else 2.5  # bubbles bursting under an arc disturb its root
    for ev in scn.defects:
        erng = np.random.default_rng([ev.seed, 22])
        if ev.label == "porosity":  # gas escaping the pool: crackle bursts
            nb = erng.poisson(45.0 * ev.severity * (ev.end_s - ev.start_s))
            starts = np.sort(erng.uniform(ev.start_s, ev.end_s, nb))
            sos = band_sos(rate, 1500.0, 5000.0)
            kernels = []
            for _ in range(nb):
                m = max(8, int(erng.uniform(0.004, 0.010) * rate))
                noise = erng.standard_normal(m) * np.sqrt(rate / REF_RATE)
                kernels.append(loud * erng.uniform(0.3, 0.9) * np.hanning(m) * sosfilt(sos, noise) * 2.0)
            add_bursts(out, rate, starts, [k * ev.severity for k in kernels])
        elif ev.label == "spatter":  # particles hitting plate and nozzle: short broadband clicks
            nb = erng.poisson((60.0 if scn.has_short_circuits else 90.0) * ev.severity * (ev.end_s - ev.start_s))
            starts = np.sort(erng.uniform(ev.start_s, ev.end_s, nb))
            m = max(4, int(0.002 * rate))
            decay = np.exp(-np.arange(m) / (0.0004 * rate))
            kernels = [erng.uniform(0.3, 1.0) * decay * erng.standard_normal(m) * np.sqrt(rate / REF_RATE) for _ in range(nb)]
            add_bursts(out, rate, starts, kernels)
        elif ev.label == "crack":  # the audible tail of the crack's elastic wave
            times, amps = crack_hits(ev)
            m = max(4, int(0.003 * rate))
            tt = np.arange(m) / rate
            f = min(6000.0, 0.4 * rate)
            kernels = [0.8 * a * np.exp(-tt / 0.0006) * np.sin(2 * np.pi * f * tt + erng.uniform(0, 6.3)) for a in amps]
            add_bursts(out, rate, times, kernels)
    return out


def simulate(scn: Scenario, wave: ArcWaveforms | None, rate: float, heat: HeatFlow | None = None) -> np.ndarray:
    """Microphone pressure (N,) float32 Pa at ``rate`` Hz (acoustic emission is its own sensor:
    :mod:`weldfusion.sensors.emission.simulate`); a friction stir weld has no ``wave`` and needs ``heat``."""
    return _mic(scn, wave, rate, heat).astype(np.float32)
