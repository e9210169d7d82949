"""Rules both camera renderers share (the arc's, :mod:`.simulate`, and the friction stir weld's, :mod:`.fsw`):
where a bead row looks along the seam, and the sensor's noise and 8-bit quantisation."""

from __future__ import annotations

import numpy as np
from weldfusion.sensors.scenario import Scenario, first_passage

#: Frame rate (Hz) at which the sensor-noise amplitudes hold (exposure ~ 1 / rate).
NOISE_REF_RATE = 250.0


def passage_clock(scn: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(xs (K,) mm, t (K,) s): each distinct torch position and the first time the torch was there."""
    xs, first = first_passage(scn)
    return xs, scn.t[first]


def seam_behind(scn: Scenario, times: np.ndarray, behind_mm: np.ndarray,
                clock: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Where the bead rows look: for frames at ``times`` (F,) and rows ``behind_mm`` (R,) mm behind the
    arc root along the seam, the seam position ``x`` (F, R) mm and the time ``t_x`` (F, R) s the torch
    was there (``clock`` from :func:`passage_clock`); ``t_x`` is NaN where the torch never was
    (ahead of the start of travel)."""
    x_now = np.interp(times, scn.t, scn.torch_x)  # (F,)
    x = x_now[:, None] - behind_mm[None, :]  # (F, R)
    xs, t_first = clock
    t_x = np.interp(x, xs, t_first) if xs.size > 1 else np.full(x.shape, np.nan)
    t_x = np.where(x >= (xs[0] if xs.size else 0.0) - 1e-9, t_x, np.nan)
    return x, t_x


def to_gray8(img: np.ndarray, rng: np.random.Generator, noise_scale: float, rate: float) -> np.ndarray:
    """The sensor: shot noise ~ sqrt(signal), read noise, 8-bit. The exposure shrinks as 1 / rate, the
    gain that keeps the image bright grows with it, and so does the noise per frame.
    ``img`` (F, H, W) float32 grey levels (changed in place) -> uint8 (F, H, W)."""
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    img += noise * np.sqrt(0.6 * np.maximum(img, 0.0) + 2.0) * np.float32(noise_scale * np.sqrt(rate / NOISE_REF_RATE))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
