"""CNN+LSTM+Attention baseline: per-frame 2-D CNNs, 1-D CNNs for signals, an LSTM over time and
additive temporal attention (the classic recogniser that MS-STAN's paper compares against).

Every used modality becomes a sequence of ``steps`` feature vectors on the window's time axis:

- image modalities (video, thermal): a small 2-D CNN on each frame -> (B, T_m, C), linearly
  interpolated to ``steps``;
- signal modalities (acoustic, electrical): strided 1-D convolutions on the waveform ->
  (B, C, S'), averaged into ``steps`` bins.

The per-step vectors of all modalities are concatenated (an absent modality contributes zeros)
and read by an LSTM; attention weights a_t = softmax_t(w^T tanh(W h_t)) pool the LSTM outputs
into the window vector (Bahdanau-style attention over time).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo
from weldfusion.fusion.baselines.common import (
    BaselineHeads,
    batch_presence,
    used_presence_weights,
)
from weldfusion.recipes.errors import InvalidInput


def frame_cnn(channels: tuple[int, ...]) -> nn.Sequential:
    """(N, 1, H, W) -> (N, C_last) : stride-2 3x3 conv + BN + ReLU blocks, then global average pooling."""
    layers: list[nn.Module] = []
    c_in = 1
    for c in channels:
        layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        c_in = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def signal_cnn(in_channels: int, channels: tuple[int, ...]) -> nn.Sequential:
    """(B, C_in, S) -> (B, C_last, ~S / 4^len) : stride-4 conv (kernel 9) + BN + ReLU blocks."""
    layers: list[nn.Module] = []
    c_in = in_channels
    for c in channels:
        layers += [nn.Conv1d(c_in, c, 9, stride=4, padding=4, bias=False), nn.BatchNorm1d(c), nn.ReLU(inplace=True)]
        c_in = c
    return nn.Sequential(*layers)


class TemporalAttention(nn.Module):
    """Additive attention pooling over time: (B, T, H) -> context (B, H), weights (B, T)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.score = nn.Linear(dim, 1, bias=False)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        a = torch.softmax(self.score(torch.tanh(self.proj(h))).squeeze(-1), dim=1)  # (B, T)
        return torch.einsum("bt,bth->bh", a, h), a


class CNNLSTMBaseline(nn.Module):
    """CNN+LSTM with temporal attention over the video window (+ thermal, acoustic, electrical).

    Args:
        info: the data declaration (modalities in presence-mask order, shapes, classes).
        dim: size E of the window vector given to the heads.
        frame_channels, signal_channels, steps, hidden, layers, bidirectional: see
            :class:`~weldfusion.fusion.baselines.config.CNNLSTMConfig`.
        use: modality names fed to the network (must include ``video``).
        projection_dim, dropout: of the heads; modality_dropout: training-time modality dropout.
    """

    def __init__(self, info: DataInfo, dim: int, frame_channels: tuple[int, ...], signal_channels: tuple[int, ...],
                 steps: int | None, hidden: int, layers: int, bidirectional: bool, use: tuple[str, ...],
                 projection_dim: int, dropout: float, modality_dropout: float = 0.0) -> None:
        super().__init__()
        self.names = info.names
        if "video" not in self.names:
            raise InvalidInput(f"cnn_lstm needs the video modality (data has: {', '.join(self.names)})")
        self.use = tuple(n for n in self.names if n in use)
        images = [info.modality(n) for n in self.use if info.modality(n).kind == "image"]
        self.steps = steps or max(m.shape[0] for m in images)
        self.encoders = nn.ModuleDict()
        width = 0
        for name in self.use:
            shape = info.modality(name)
            if shape.kind == "image":
                self.encoders[name] = frame_cnn(frame_channels)
                width += frame_channels[-1]
            else:
                self.encoders[name] = signal_cnn(shape.shape[0], signal_channels)
                width += signal_channels[-1]
        self.lstm = nn.LSTM(width, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        out = hidden * (2 if bidirectional else 1)
        self.attention = TemporalAttention(out)
        self.to_embedding = nn.Sequential(nn.Linear(out, dim), nn.GELU())
        self.heads = BaselineHeads(dim, len(info.phases), len(info.defects), projection_dim, dropout)
        self.modality_dropout = modality_dropout
        used = torch.tensor([n in self.use for n in self.names], dtype=torch.bool)
        self.register_buffer("used", used, persistent=False)

    def _sequence(self, name: str, x: Tensor) -> Tensor:
        """One modality's batch tensor -> (B, steps, C)."""
        enc = self.encoders[name]
        if x.dim() == 4:  # image (B, T, H, W)
            b, t = x.shape[:2]
            f = enc(rearrange(x, "b t h w -> (b t) 1 h w"))  # (B*T, C)
            f = rearrange(f, "(b t) c -> b c t", b=b, t=t)  # (B, C, T)
            if t != self.steps:
                f = F.interpolate(f, size=self.steps, mode="linear", align_corners=False)
        else:  # signal (B, C, S)
            f = F.adaptive_avg_pool1d(enc(x), self.steps)  # (B, C, steps)
        return rearrange(f, "b c t -> b t c")

    def forward(self, batch: dict) -> dict:
        """batch: ``video`` (B, T, H, W), ``thermal`` (B, T', H', W'), ``acoustic`` / ``electrical``
        (B, C, S), ``present`` (B, M) bool.

        Returns the fusion model's output dict: ``embedding`` (B, dim), ``modality_weights`` (B, M)
        uniform over the used, present modalities, ``attention = {"fused": {"temporal": (B, steps)}}``.
        """
        present = batch_presence(batch, self.training, self.modality_dropout)
        seqs = []
        for name in self.use:
            keep = present[:, self.names.index(name)].to(batch[name].dtype)[:, None, None]  # (B, 1, 1)
            seqs.append(self._sequence(name, batch[name]) * keep)  # (B, steps, C_m)
        h, _ = self.lstm(torch.cat(seqs, dim=-1))  # (B, steps, hidden)
        context, weights = self.attention(h)  # (B, hidden), (B, steps)
        emb = self.to_embedding(context)  # (B, dim)
        return self.heads(emb, used_presence_weights(present, self.used), present, {"fused": {"temporal": weights}})
