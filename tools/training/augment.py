"""Rate jitter: training windows as a slower sensor would have delivered them (``train.rate_jitter``).

A model trained at one set of sampling rates learns what those rates resolve — a microphone at
16 kHz gives the window its full 0–8 kHz band — and loses its answer when a lab's sensor resolves
less (measured: the demo model's defect mean F1 0.620 -> 0.306 with the microphone at 8 kHz,
``weldfusion rate-sweep``). Rate jitter shows it, in training, windows from slower sensors:

* for each window and each jittered modality, with probability ``prob``, a rate factor
  ``f ~ U[min_factor, 1]`` relative to the window's own rate (``S / window_s``);
* a signal window (B, C, S) is low-passed at ``f`` x its Nyquist frequency — what the window
  resampler's anti-aliasing filter delivers from a sensor sampled at ``f`` x the window rate
  (reflect-padded FFT brick wall, so the window's edges do not wrap around);
* an image window (B, T, H, W) is sample-and-hold: a camera at ``f`` x the window's frame rate
  gives each window frame ``k`` its nearest own frame, i.e. window frame ``round(round(k f) / f)``.

Only rates below the window's rate change a window (a faster sensor is anti-aliased down to the
window rate anyway), so the sensors whose native rate is near the window rate (the microphone:
16 kHz native, 16 kHz window) are the ones it protects. Applied on the training batches only,
after the normalisation (both operations are linear and keep a window's mean).
"""

from __future__ import annotations

import torch
from weldfusion.datasets.info import DataInfo
from weldfusion.recipes.training import RateJitterConfig
from weldfusion.sensors.registry import modality_names


def lowpass(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Low-pass each window at ``factor`` x its Nyquist frequency.

    Args:
        x: (B, C, S) signal windows.
        factor: (B,) in (0, 1]; 1 leaves the window unchanged (up to float rounding).

    Returns:
        (B, C, S), same dtype.
    """
    s = x.shape[-1]
    pad = min(s - 1, max(1, s // 8))
    xp = torch.nn.functional.pad(x.float(), (pad, pad), mode="reflect")  # (B, C, S + 2 pad)
    spec = torch.fft.rfft(xp, dim=-1)  # (B, C, K)
    k = spec.shape[-1]
    keep = torch.arange(k, device=x.device)[None, :] <= factor[:, None] * (k - 1)  # (B, K)
    out = torch.fft.irfft(spec * keep[:, None, :], n=xp.shape[-1], dim=-1)
    return out[..., pad:pad + s].to(x.dtype)


def hold_frames(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Sample-and-hold each window's frames as a camera at ``factor`` x the frame rate.

    Args:
        x: (B, T, H, W) frame windows.
        factor: (B,) in (0, 1].

    Returns:
        (B, T, H, W): frame ``k`` of window ``b`` is input frame ``round(round(k f_b) / f_b)`` (the
        camera's last frame inside the window at the end).
    """
    t = x.shape[1]
    k = torch.arange(t, device=x.device, dtype=torch.float64)[None, :]  # (1, T)
    f = factor.to(torch.float64)[:, None]  # (B, 1)
    own = torch.minimum(torch.round(k * f), torch.floor((t - 1) * f + 1e-9))  # the camera's frame index
    idx = torch.round(own / f).clamp(0, t - 1).long()  # (B, T) window frame it lands on
    return torch.gather(x, 1, idx[:, :, None, None].expand_as(x))


class RateJitter:
    """Callable ``batch -> batch`` applying :mod:`rate jitter <weldfusion.tools.training.augment>`.

    Args:
        cfg: the ``train.rate_jitter`` section (a sensor name no sensor folder declares is an error).
        info: the data's shapes (kind of each modality); listed sensors it lacks are skipped.
    """

    def __init__(self, cfg: RateJitterConfig, info: DataInfo):
        self.cfg = cfg
        wanted = set(cfg.modalities) if cfg.modalities is not None else set(info.names)
        unknown = wanted - set(modality_names())
        if unknown:
            raise ValueError(f"train.rate_jitter.modalities: no sensor named {sorted(unknown)} "
                             f"(known: {', '.join(modality_names())})")
        # a known sensor this data set leaves out (an ablation without it) is simply not jittered
        self.kinds = {m.name: m.kind for m in info.modalities if m.name in wanted}

    def __call__(self, batch: dict) -> dict:
        if self.cfg.prob <= 0:
            return batch
        out = dict(batch)
        lo = self.cfg.min_factor
        for name, kind in self.kinds.items():
            x = batch.get(name)
            if x is None:
                continue
            b = x.shape[0]
            hit = torch.rand(b, device=x.device) < self.cfg.prob
            if not bool(hit.any()):
                continue
            factor = torch.where(hit, lo + (1.0 - lo) * torch.rand(b, device=x.device), torch.ones(b, device=x.device))
            jittered = lowpass(x, factor) if kind == "signal" else hold_frames(x, factor)
            mask = hit.view(b, *([1] * (x.dim() - 1)))
            out[name] = torch.where(mask, jittered, x)
        return out
