"""Electrical encoder: (B, C, S) current, voltage, wire feed, travel speed, power, heat input,
short circuit -> tokens (B, N + 1, D), pooled (B, D).

Multi-scale 1-D temporal convolutions over all channels (a strided stem, then parallel depthwise
branches with kernel sizes ``kernel_sizes`` mixed by a 1x1 conv, residual), average-pooled to
N tokens of ``token_ms`` each. One more token summarises the window: per-channel mean, standard
deviation and linear trend (least-squares change across the window, so a programmed parameter
ramp is one number) — mean power and heat input enter directly —, with ``trend_snr`` the size of
that trend divided by the standard deviation of the residual around the fitted line (scale-free: a set-point
ramp on a quiet channel, e.g. a laser's diode current or the wire feed, is far above its own noise
even when it is small in dataset units, while the trend of a noisy channel stays near its noise),
and, when the data has a ``short_circuit`` channel, short-circuit statistics: onsets per second and
mean duty.

The short-circuit channel arrives normalised (dataset mean subtracted): a sample counts as in
short circuit when its value is above 0, i.e. above the dataset-mean share. This separates 0
from 1 whenever the training data has 0 < mean share < 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.config import ElectricalEncoderConfig
from weldfusion.fusion.encoder_base import Encoder, EncoderSpec
from weldfusion.fusion.frozen_cache import conv_bn, derived_weights, frozen


def short_circuit_stats(sc: Tensor, window_s: float) -> Tensor:
    """sc: (B, S) normalised short-circuit share -> (B, 2): [log1p(onsets per second), duty in [0, 1]]."""
    state = sc > 0
    onsets = (state[:, 1:] & ~state[:, :-1]).sum(dim=1).to(sc.dtype) / window_s
    return torch.stack([torch.log1p(onsets), state.to(sc.dtype).mean(dim=1)], dim=1)


def linear_trend(x: Tensor) -> Tensor:
    """x: (B, C, S) -> (B, C): least-squares slope per channel times the window length (change
    from the first to the last sample of the fitted line, in x's units)."""
    s = x.shape[-1]
    u = (torch.arange(s, device=x.device).to(x.dtype) / max(s - 1, 1) - 0.5)  # (S,) window fraction, centred
    denom = u.pow(2).sum().clamp_min(1e-12)
    return (x * u).sum(dim=-1) / denom


#: Floor of the residual standard deviation in :func:`trend_snr` (dataset-normalised units): a
#: channel that is exactly constant in the window (a set point at rest) gives 0, not 0/0.
SNR_FLOOR = 1e-3


def trend_snr(x: Tensor, trend: Tensor) -> Tensor:
    """x: (B, C, S), trend: (B, C) from :func:`linear_trend` -> (B, C): |trend| / (residual std + floor).

    The residual is x minus its fitted line (mean + trend * u, u the centred window fraction);
    the ratio is dimensionless, so it enters the summary MLP without :data:`STATS_GAIN`. It is the
    magnitude only: a set-point change is a ramp up or down, and the signed trend is already in
    the summary (so a direction never seen in training still reads as a ramp).
    """
    s = x.shape[-1]
    u = (torch.arange(s, device=x.device).to(x.dtype) / max(s - 1, 1) - 0.5)  # (S,)
    resid = x - x.mean(dim=-1, keepdim=True) - trend[..., None] * u  # (B, C, S)
    return trend.abs() / (resid.pow(2).mean(dim=-1).sqrt() + SNR_FLOOR)


#: Window statistics enter the summary MLP as asinh(STATS_GAIN * value): linear for the small
#: within-arc changes (a 20 % wire-feed ramp is ~0.1 in dataset-normalised units), logarithmic for
#: the large arc on/off steps, so both are in the MLP's working range.
STATS_GAIN = 10.0


def asinh(x: Tensor) -> Tensor:
    """asinh written with sign/log/sqrt (ONNX opset 17 has no Asinh export in torch 2.11)."""
    return torch.sign(x) * torch.log(x.abs() + torch.sqrt(x * x + 1.0))


class MultiScaleConv1d(nn.Module):
    """Parallel depthwise temporal convs of several kernel sizes, 1x1 mix, batch norm, residual.

    The branches run as one grouped conv (:meth:`grouped_weight`: every channel's kernels of all
    sizes side by side, centred in the largest); the parameters stay the branches' own.
    """

    def __init__(self, dim: int, kernel_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv1d(dim, dim, k, padding=k // 2, groups=dim) for k in kernel_sizes)
        self.mix = nn.Conv1d(dim * len(kernel_sizes), dim, 1, bias=False)
        self.bn = nn.BatchNorm1d(dim)
        self.kmax = max(kernel_sizes)
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes must be odd (centred kernels), got {tuple(kernel_sizes)}")

    def grouped_weight(self) -> tuple[Tensor, Tensor, Tensor]:
        """(weight (C k, 1, kmax), bias (C k,), mix (C_out, C k, 1)): output channel c k + j is branch j of
        channel c (its taps centred, zeros around), and the mix's input columns follow that order."""
        d, k = self.branches[0].out_channels, len(self.branches)
        taps = torch.stack([F.pad(b.weight[:, 0], ((self.kmax - b.kernel_size[0]) // 2,) * 2)
                            for b in self.branches], dim=1)  # (C, k, kmax)
        bias = torch.stack([b.bias for b in self.branches], dim=1)  # (C, k)
        mix = self.mix.weight.reshape(-1, k, d).transpose(1, 2).reshape(-1, d * k, 1)  # columns j*C + c -> c*k + j
        return taps.reshape(d * k, 1, self.kmax), bias.reshape(-1), mix

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, L) -> (B, C, L)."""
        params = [p for b in self.branches for p in (b.weight, b.bias)] + [self.mix.weight]
        if self.training or not frozen():
            weight, bias, mix = derived_weights(self, params, self.grouped_weight, slot="grouped")
            y = F.conv1d(x, weight, bias, padding=self.kmax // 2, groups=x.shape[1])  # (B, C k, L), all branches
            return x + F.gelu(self.bn(F.conv1d(y, mix)))
        bn = self.bn  # inference: the grouped branches, and the batch norm folded into the mix (cached)
        weight, bias, mix, mix_bias = derived_weights(
            self, [*params, bn.weight, bn.bias, bn.running_mean, bn.running_var], self._inference_weights, slot="inference")
        y = F.conv1d(x, weight, bias, padding=self.kmax // 2, groups=x.shape[1])
        return x + F.gelu(F.conv1d(y, mix, mix_bias))

    def _inference_weights(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        weight, bias, mix = self.grouped_weight()
        scale = self.bn.weight * torch.rsqrt(self.bn.running_var + self.bn.eps)
        return weight, bias, (mix * scale[:, None, None]).contiguous(), self.bn.bias - self.bn.running_mean * scale


class ElectricalEncoder(Encoder):
    """Multi-scale 1-D convs + window statistics (incl. short-circuit rate and duty)."""

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, conv_dim: int, stem_stride: int,
                 kernel_sizes: tuple[int, ...], token_ms: float, trend_snr: bool = True) -> None:
        super().__init__(shape, info, dim)
        channels, samples = self.signal_shape(shape, "electrical encoder")
        names = tuple(shape.channel_names)
        self.signal_shape = (channels, samples)
        self.window_s = samples / float(shape.rate)
        self.sc_index = names.index("short_circuit") if "short_circuit" in names else None
        self.stem = nn.Sequential(
            nn.Conv1d(channels, conv_dim, 2 * stem_stride + 1, stride=stem_stride, padding=stem_stride, bias=False),
            nn.BatchNorm1d(conv_dim), nn.GELU())
        self.body = MultiScaleConv1d(conv_dim, tuple(kernel_sizes))
        steps = (samples - 1) // stem_stride + 1
        self.num_tokens = max(1, min(steps, round(self.window_s * 1000.0 / token_ms)))
        self.pool = nn.AdaptiveAvgPool1d(self.num_tokens)
        self.proj = nn.Linear(conv_dim, dim)
        self.trend_snr = trend_snr
        n_stats = (4 if trend_snr else 3) * channels + (2 if self.sc_index is not None else 0)
        self.stats = nn.Sequential(nn.Linear(n_stats, dim), nn.GELU(), nn.Linear(dim, dim))
        self.pos = nn.Parameter(torch.randn(self.num_tokens + 1, dim) * 0.02)
        self.pool_score = nn.Linear(dim, 1, bias=False)  # softmax pooling: a constant logit would cancel
        self.pool_proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, C, S) -> tokens (B, N + 1, D), pooled (B, D), attention {"temporal": (B, N + 1)}, aux {}.

        The last token is the window-statistics token.
        """
        if tuple(x.shape[1:]) != self.signal_shape:
            raise ValueError(f"{self.modality}: expected windows of shape {self.signal_shape}, "
                             f"got {tuple(x.shape[1:])}")
        stem = F.gelu(conv_bn(self.stem, self.stem[0], self.stem[1], x))  # (B, conv_dim, S'), = self.stem(x)
        h = self.pool(self.body(stem))  # (B, conv_dim, N)
        seq = self.proj(rearrange(h, "b c n -> b n c"))  # (B, N, D)
        trend = linear_trend(x)  # (B, C)
        stats = [x.mean(dim=2), x.std(dim=2, unbiased=False), trend]
        if self.sc_index is not None:
            stats.append(short_circuit_stats(x[:, self.sc_index], self.window_s))
        stats = asinh(STATS_GAIN * torch.cat(stats, dim=1))  # (B, 3C [+ 2])
        if self.trend_snr:
            stats = torch.cat([stats, asinh(trend_snr(x, trend))], dim=1)  # (B, 4C [+ 2])
        summary = self.stats(stats)[:, None]  # (B, 1, D)
        tokens = torch.cat([seq, summary], dim=1) + self.pos  # (B, N + 1, D)
        alpha = torch.softmax(self.pool_score(tokens).squeeze(-1), dim=1)
        pooled = self.pool_proj(torch.einsum("bn,bnd->bd", alpha, tokens))
        return {"tokens": tokens, "pooled": pooled, "attention": {"temporal": alpha}, "aux": {}}


ENCODER = EncoderSpec(encoder=ElectricalEncoder, config=ElectricalEncoderConfig)
