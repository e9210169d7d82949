"""Plain transformer fusion baseline: linear tokens of every modality, one standard transformer.

- image modalities (B, T, H, W): non-overlapping (t, h, w) tubelets (ViViT "tubelet embedding"),
  each flattened and linearly projected to ``dim``;
- signal modalities (B, C, S): non-overlapping segments of ``signal_token_ms``, all channels of a
  segment flattened and projected;
- a learned position embedding per token of each modality, a class token, and
  ``nn.TransformerEncoder`` (pre-norm, GELU) over the concatenation of all tokens; tokens of an
  absent modality are masked out of attention (key padding mask). The class token's output is
  the window vector.

None of MS-STAN's components (multi-scale temporal convolution, spatial/temporal attention maps,
occlusion mask, background suppression, motion magnification, frame sampling, knowledge prior,
modality-attention fusion) is used.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.baselines.common import (
    BaselineHeads,
    batch_presence,
    used_presence_weights,
)
from weldfusion.recipes.errors import InvalidInput


class ImageTokens(nn.Module):
    """(B, T, H, W) -> (B, N, D) tubelet tokens, N = (T//t) (H//h) (W//w); the rest of a clip is cut off."""

    def __init__(self, shape: tuple[int, int, int], tubelet: tuple[int, int, int], dim: int) -> None:
        super().__init__()
        self.tubelet = tuple(min(p, s) for p, s in zip(tubelet, shape, strict=True))
        self.grid = tuple(s // p for s, p in zip(shape, self.tubelet, strict=True))
        self.proj = nn.Linear(self.tubelet[0] * self.tubelet[1] * self.tubelet[2], dim)

    @property
    def n_tokens(self) -> int:
        return self.grid[0] * self.grid[1] * self.grid[2]

    def forward(self, x: Tensor) -> Tensor:
        (pt, ph, pw), (gt, gh, gw) = self.tubelet, self.grid
        x = x[:, : gt * pt, : gh * ph, : gw * pw]
        x = rearrange(x, "b (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw)", pt=pt, ph=ph, pw=pw)  # (B, N, pt*ph*pw)
        return self.proj(x)


class SignalTokens(nn.Module):
    """(B, C, S) -> (B, N, D) segment tokens of ``length`` samples each, N = S // length."""

    def __init__(self, channels: int, samples: int, length: int, dim: int) -> None:
        super().__init__()
        self.length = max(1, min(length, samples))
        self.n = samples // self.length
        self.proj = nn.Linear(channels * self.length, dim)

    @property
    def n_tokens(self) -> int:
        return self.n

    def forward(self, x: Tensor) -> Tensor:
        x = rearrange(x[:, :, : self.n * self.length], "b c (n l) -> b n (c l)", l=self.length)  # (B, N, C*L)
        return self.proj(x)


def tokenizer(shape: ModalityShape, dim: int, video_tubelet: tuple[int, int, int],
              thermal_tubelet: tuple[int, int, int], signal_token_ms: float, window_s: float) -> nn.Module:
    """The token embedding of one modality (thermal tubelets for every image modality but video)."""
    if shape.kind == "image":
        return ImageTokens(shape.shape, video_tubelet if shape.name == "video" else thermal_tubelet, dim)
    rate = shape.rate or shape.shape[1] / window_s
    return SignalTokens(shape.shape[0], shape.shape[1], round(signal_token_ms * 1e-3 * rate), dim)


class TransformerBaseline(nn.Module):
    """Standard transformer encoder over the tokens of all modalities, with a class token.

    Args:
        info: the data declaration.
        dim: token size D (divisible by ``heads``).
        layers, heads, ff_mult, dropout, video_tubelet, thermal_tubelet, signal_token_ms: see
            :class:`~weldfusion.fusion.baselines.config.TransformerBaselineConfig`.
        projection_dim, head_dropout: of the heads; modality_dropout: training-time modality dropout.
    """

    def __init__(self, info: DataInfo, dim: int, layers: int, heads: int, ff_mult: int, dropout: float,
                 video_tubelet: tuple[int, int, int], thermal_tubelet: tuple[int, int, int], signal_token_ms: float,
                 projection_dim: int, head_dropout: float, modality_dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise InvalidInput(f"model.dim ({dim}) must be a multiple of the transformer heads ({heads})")
        self.names = info.names
        self.tokens = nn.ModuleDict({m.name: tokenizer(m, dim, video_tubelet, thermal_tubelet, signal_token_ms,
                                                       info.window_s) for m in info.modalities})
        self.pos = nn.ParameterDict({n: nn.Parameter(torch.zeros(1, t.n_tokens, dim)) for n, t in self.tokens.items()})
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        for p in (*self.pos.values(), self.cls):
            nn.init.trunc_normal_(p, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * ff_mult, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.heads = BaselineHeads(dim, len(info.phases), len(info.defects), projection_dim, head_dropout)
        self.modality_dropout = modality_dropout
        self.register_buffer("used", torch.ones(len(self.names), dtype=torch.bool), persistent=False)

    @property
    def n_tokens(self) -> int:
        """Tokens per window (class token included)."""
        return 1 + sum(t.n_tokens for t in self.tokens.values())

    def forward(self, batch: dict) -> dict:
        """batch: ``<modality>`` tensors ((B, T, H, W) images, (B, C, S) signals), ``present`` (B, M) bool.

        Returns the fusion model's output dict with ``embedding`` (B, D) (the class token) and
        ``modality_weights`` (B, M) uniform over the present modalities.
        """
        present = batch_presence(batch, self.training, self.modality_dropout)
        b = present.shape[0]
        seq = [self.cls.expand(b, -1, -1)]  # (B, 1, D)
        ignore = [present.new_zeros(b, 1)]  # (B, 1) key padding mask: True = not attended
        for i, name in enumerate(self.names):
            t = self.tokens[name](batch[name]) + self.pos[name]  # (B, N_m, D)
            seq.append(t)
            ignore.append((~present[:, i : i + 1]).expand(-1, t.shape[1]))  # (B, N_m)
        h = self.encoder(torch.cat(seq, dim=1), src_key_padding_mask=torch.cat(ignore, dim=1))  # (B, N, D)
        return self.heads(h[:, 0], used_presence_weights(present, self.used), present, {})
