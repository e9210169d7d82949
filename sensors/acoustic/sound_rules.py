"""Sound rules the microphone's simulators share (the arc's, :mod:`.simulate`, and the friction stir
weld's, :mod:`.fsw`): noise densities, band-pass filters, event bursts, the shop-noise floor, A-weighting."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter

#: Shop noise floor, A-weighted level range of a run (dB(A) re 20 uPa), drawn per run.
SHOP_NOISE_DBA = (70.0, 80.0)
P_REF_PA = 20e-6
#: The noise amplitudes of the simulators are per sample at this rate (16 kHz, where they were
#: calibrated); drawn at another rate they are scaled by sqrt(rate / REF_RATE), which keeps their density.
REF_RATE = 16_000.0


def band_sos(rate: float, lo: float, hi: float, order: int = 2) -> np.ndarray:
    """Butterworth band-pass [lo, hi] Hz at ``rate`` as SOS (hi kept below 0.45 x rate)."""
    hi = min(hi, 0.45 * rate)
    return butter(order, [lo, hi], btype="band", fs=rate, output="sos")


def add_bursts(x: np.ndarray, rate: float, starts: np.ndarray, kernels: list[np.ndarray]) -> None:
    """Add ``kernels[i]`` into ``x`` at sample ``starts[i] * rate`` (in place, clipped at the end)."""
    for t, k in zip(starts, kernels):
        i = round(t * rate)
        if 0 <= i < x.size:
            m = min(k.size, x.size - i)
            x[i : i + m] += k[:m]


def shop_noise(rng: np.random.Generator, n: int, rate: float, level_dba: float) -> np.ndarray:
    """Shop noise floor (n,) Pa at ``rate``: pink noise (-3 dB/octave, 20 Hz-20 kHz, shaped in the
    frequency domain) scaled to ``level_dba`` after A-weighting, plus fan / mains hum at 100 Hz
    and two harmonics 26 dB below it."""
    f = np.fft.rfftfreq(n, 1.0 / rate)
    band = (f >= 20.0) & (f <= 20_000.0)
    spec = np.fft.rfft(rng.standard_normal(n)) * np.where(band, 1.0 / np.sqrt(np.maximum(f, 1.0)), 0.0)
    power = np.abs(spec) ** 2
    a_share = np.sum(power * 10 ** (a_weighting_db(f) / 10)) / max(np.sum(power), 1e-30)
    pink = np.fft.irfft(spec, n)
    target = P_REF_PA * 10 ** (level_dba / 20)  # A-weighted RMS, Pa
    pink *= target / (np.sqrt(np.mean(pink**2) * a_share) + 1e-30)
    t = np.arange(n) / rate
    hum = sum(0.05 * target / k * np.sin(2 * np.pi * 100.0 * k * t + rng.uniform(0, 2 * np.pi)) for k in (1, 2, 3))
    return pink + hum


def a_weighting_db(f: np.ndarray) -> np.ndarray:
    """IEC 61672 A-weighting (dB) at frequencies ``f`` Hz."""
    f2 = np.maximum(f, 1e-3) ** 2
    ra = (12194.0**2 * f2**2) / ((f2 + 20.6**2) * np.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2))
    return 20 * np.log10(ra) + 2.0
