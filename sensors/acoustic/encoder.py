"""Acoustic encoder: (B, C, S) sound / acoustic emission -> tokens (B, N, D), pooled (B, D).

Channels whose name starts with ``ae`` (acoustic emission) take a band-limited path: power
spectrogram -> energies of log-spaced sub-bands inside ``ae_band_fraction`` of the Nyquist band
-> log envelopes, plus the channel's mean level per frame -> (B, C_ae * (bands + 1), F). The
level row matters when the data set delivers AE as an RMS envelope at the window rate (the
``WindowDataset`` default for MHz AE): the envelope itself is then the information, and the
band energies describe its fast fluctuations (bursts). All other channels are microphones: torchaudio
MelSpectrogram + AmplitudeToDB -> two strided 2-D convs over (mel, time). Both paths give
(B, conv_dim, F) per STFT frame (hop ``hop_ms``); their sum goes through residual dilated 1-D
convs and a stride-2 conv to N = ceil(F / 2) tokens. Pooled = attention pooling over tokens.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from einops import rearrange
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.config import AcousticEncoderConfig
from weldfusion.fusion.encoder_base import Encoder, EncoderSpec
from weldfusion.fusion.frozen_cache import conv_bn


def band_matrix(n_fft: int, rate: float, lo_hz: float, hi_hz: float, bands: int) -> Tensor:
    """(n_fft // 2 + 1, bands) averaging matrix of log-spaced bands between lo_hz and hi_hz.

    A band narrower than one FFT bin takes the bin nearest its centre.
    """
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    lo = max(lo_hz, freqs[1])
    edges = np.geomspace(lo, hi_hz, bands + 1)
    mat = np.zeros((freqs.size, bands), dtype=np.float32)
    for j in range(bands):
        inside = (freqs >= edges[j]) & (freqs < edges[j + 1] if j < bands - 1 else freqs <= edges[j + 1])
        if not inside.any():
            inside[np.argmin(np.abs(freqs - math.sqrt(edges[j] * edges[j + 1])))] = True
        mat[inside, j] = 1.0 / inside.sum()
    return torch.from_numpy(mat)


class ResBlock1d(nn.Module):
    """Residual dilated temporal conv: (B, C, L) -> (B, C, L)."""

    def __init__(self, dim: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.gelu(conv_bn(self, self.conv, self.bn, x))


class AcousticEncoder(Encoder):
    """Log-mel (microphones) + band-limited (``ae*``) front end and a light temporal conv encoder."""

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, n_mels: int, hop_ms: float,
                 win_ms: float, f_max_hz: float, ae_band_fraction: tuple[float, float], ae_bands: int,
                 conv_dim: int, layers: int) -> None:
        super().__init__(shape, info, dim)
        channels, samples = self.signal_shape(shape, "acoustic encoder")
        names = shape.channel_names or tuple(f"mic{i}" for i in range(channels))
        if len(names) != channels:
            raise ValueError(f"{shape.name}: {len(names)} channel names for {channels} channels")
        self.signal_shape = (channels, samples)
        rate = float(shape.rate)
        hop = max(1, round(rate * hop_ms / 1000.0))
        win = max(2, round(rate * win_ms / 1000.0))
        n_fft = 1 << (win - 1).bit_length()
        is_ae = [n.lower().startswith("ae") for n in names]
        self.register_buffer("mic_idx", torch.tensor([i for i, a in enumerate(is_ae) if not a], dtype=torch.long),
                             persistent=False)
        self.register_buffer("ae_idx", torch.tensor([i for i, a in enumerate(is_ae) if a], dtype=torch.long),
                             persistent=False)
        n_mic, n_ae = self.mic_idx.numel(), self.ae_idx.numel()
        self.mic = None
        if n_mic:
            self.mel = torchaudio.transforms.MelSpectrogram(
                sample_rate=int(round(rate)), n_fft=n_fft, win_length=win, hop_length=hop,
                f_max=min(f_max_hz, rate / 2), n_mels=n_mels, power=2.0)
            self.to_db = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0)
            self.mic = nn.Sequential(
                nn.BatchNorm2d(n_mic),
                nn.Conv2d(n_mic, conv_dim // 2, 3, stride=(2, 1), padding=1), nn.BatchNorm2d(conv_dim // 2), nn.GELU(),
                nn.Conv2d(conv_dim // 2, conv_dim // 2, 3, stride=(2, 1), padding=1), nn.BatchNorm2d(conv_dim // 2),
                nn.GELU())
            mel_out = math.ceil(math.ceil(n_mels / 2) / 2)  # two stride-2 convs over mel bands
            self.mic_proj = nn.Conv1d(conv_dim // 2 * mel_out, conv_dim, 1)
        self.ae = None
        if n_ae:
            nyquist = rate / 2
            lo, hi = ae_band_fraction
            self.spec = torchaudio.transforms.Spectrogram(n_fft=n_fft, win_length=win, hop_length=hop, power=2.0)
            self.register_buffer("ae_bands", band_matrix(n_fft, rate, lo * nyquist, hi * nyquist, ae_bands),
                                 persistent=False)
            self.n_fft = n_fft
            self.hop = hop
            rows = n_ae * (ae_bands + 1)
            self.ae = nn.Sequential(nn.BatchNorm1d(rows), nn.Conv1d(rows, conv_dim, 1))
        self.blocks = nn.Sequential(*(ResBlock1d(conv_dim, 2**i) for i in range(layers)))
        self.down = nn.Conv1d(conv_dim, dim, 3, stride=2, padding=1)
        frames = samples // hop + 1
        self.num_tokens = (frames - 1) // 2 + 1
        self.pos = nn.Parameter(torch.randn(self.num_tokens, dim) * 0.02)
        self.pool_score = nn.Linear(dim, 1, bias=False)  # softmax pooling: a constant logit would cancel
        self.pool_proj = nn.Linear(dim, dim)

    def ae_band_energy(self, x: Tensor) -> Tensor:
        """Band-limited path: x (B, C, S) -> mean power of each AE sub-band per frame (B, C_ae, bands, F)."""
        power = self.spec(x.index_select(1, self.ae_idx))  # (B, C_ae, n_fft/2+1, F)
        return torch.einsum("bckf,kj->bcjf", power, self.ae_bands)

    def ae_level(self, x: Tensor) -> Tensor:
        """Mean of each AE channel over the STFT frames (same centring): (B, C, S) -> (B, C_ae, 1, F)."""
        a = x.index_select(1, self.ae_idx)
        pad = self.n_fft // 2
        a = F.pad(a, (pad, pad), mode="reflect") if a.shape[-1] > pad else F.pad(a, (pad, pad))
        return F.avg_pool1d(a, self.n_fft, stride=self.hop)[:, :, None]

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, C, S) -> tokens (B, N, D), pooled (B, D), attention {"temporal": (B, N)}, aux {}."""
        if tuple(x.shape[1:]) != self.signal_shape:
            raise ValueError(f"{self.modality}: expected windows of shape {self.signal_shape}, "
                             f"got {tuple(x.shape[1:])}")
        h = 0.0
        if self.mic is not None:
            spec = self.to_db(self.mel(x.index_select(1, self.mic_idx)))  # (B, C_mic, n_mels, F)
            y = self.mic(spec)  # (B, c, n_mels / 4, F)
            h = h + self.mic_proj(rearrange(y, "b c m f -> b (c m) f"))  # (B, conv_dim, F)
        if self.ae is not None:
            env = torch.log10(self.ae_band_energy(x) + 1e-10)  # (B, C_ae, bands, F)
            env = torch.cat([self.ae_level(x), env], dim=2)  # (B, C_ae, bands + 1, F)
            h = h + self.ae(rearrange(env, "b c j f -> b (c j) f"))  # (B, conv_dim, F)
        tokens = rearrange(self.down(self.blocks(h)), "b d n -> b n d") + self.pos  # (B, N, D)
        alpha = torch.softmax(self.pool_score(tokens).squeeze(-1), dim=1)  # (B, N)
        pooled = self.pool_proj(torch.einsum("bn,bnd->bd", alpha, tokens))
        return {"tokens": tokens, "pooled": pooled, "attention": {"temporal": alpha}, "aux": {}}


ENCODER = EncoderSpec(encoder=AcousticEncoder, config=AcousticEncoderConfig)
