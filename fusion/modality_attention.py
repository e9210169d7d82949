"""Modality-attention fusion: attention over the tokens of every present modality.

Sequence per sample: a fusion token, then for each modality m its pooled vector and its tokens,
all plus a learned modality embedding e_m. For an absent modality the inputs are replaced by the
learned "missing" embedding u_m (never read) and its positions are masked out as attention keys,
so absent modalities take no part in attention and their input values cannot change the output.
The fusion token starts as c + sum_{m absent} u_m, so the model knows which sensors are missing.
After ``layers`` pre-norm transformer blocks, the fusion token attends once more over the
modality positions; the weights of each modality's positions summed give the per-sample
modality weights (B, M) (zero for absent modalities, rows sum to 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn


class FusionBlock(nn.Module):
    """Pre-norm transformer block with a key mask: (B, N, D), (B, N) bool -> (B, N, D)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """x: (B, N, D); valid: (B, N) True where the position may be attended to."""
        q, k, v = rearrange(self.qkv(self.norm1(x)), "b n (three h e) -> three b h n e", three=3, h=self.heads)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=valid[:, None, None, :])  # (B, H, N, e)
        x = x + self.proj(rearrange(y, "b h n e -> b n (h e)"))
        return x + self.mlp(self.norm2(x))


class ModalityAttentionFusion(nn.Module):
    """Tokens of the present modalities -> fused embedding (B, D) and modality weights (B, M).

    Args:
        names: modality names in presence-mask column order.
        dim: token size D.
        layers, heads: transformer blocks and attention heads.
    """

    produces_logits = False

    def __init__(self, names: tuple[str, ...], dim: int, layers: int = 1, heads: int = 4) -> None:
        super().__init__()
        self.names = tuple(names)
        m = len(names)
        self.modality_embed = nn.Parameter(torch.randn(m, dim) * 0.02)
        self.missing = nn.Parameter(torch.randn(m, dim) * 0.02)
        self.fusion_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.blocks = nn.ModuleList(FusionBlock(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.pool_q = nn.Linear(dim, dim)
        self.pool_k = nn.Linear(dim, dim)
        self.out = nn.LayerNorm(dim)
        self.dim = dim
        self._owner_cache: dict = {}

    def owner_onehot(self, owner: tuple[int, ...], like: Tensor) -> Tensor:
        """(N_tok, M) one-hot of the modality owning each sequence position (cached per token layout)."""
        key = (owner, like.dtype, like.device)
        cached = self._owner_cache.get(key)
        if cached is None or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            with torch.inference_mode(False):  # a normal tensor: usable in training and inference alike
                cached = F.one_hot(torch.tensor(owner, device=like.device), len(self.names)).to(like.dtype)
            self._owner_cache = {key: cached}
        return cached

    def forward(self, tokens: dict[str, Tensor], pooled: dict[str, Tensor], present: Tensor) -> dict:
        """tokens[m]: (B, N_m, D); pooled[m]: (B, D); present: (B, M) bool.

        Returns {"embedding": (B, D), "modality_weights": (B, M)}.
        """
        seq, valid, owner = [], [], []
        for i, name in enumerate(self.names):
            p = present[:, i]
            x = torch.cat([pooled[name][:, None], tokens[name]], dim=1)  # (B, 1 + N_m, D)
            x = torch.where(p[:, None, None], x, self.missing[i]) + self.modality_embed[i]
            seq.append(x)
            valid.append(p[:, None].expand(-1, x.shape[1]))
            owner += [i] * x.shape[1]
        start = self.fusion_token + (~present).to(self.missing.dtype) @ self.missing  # (B, D)
        x = torch.cat([start[:, None], *seq], dim=1)  # (B, 1 + sum_m (1 + N_m), D)
        keys = torch.cat([present.new_ones(present.shape[0], 1), *valid], dim=1)  # (B, 1 + ...)
        for block in self.blocks:
            x = block(x, keys)
        x = self.norm(x)
        fused, toks = x[:, 0], x[:, 1:]
        logits = torch.einsum("bd,bnd->bn", self.pool_q(fused), self.pool_k(toks)) / math.sqrt(self.dim)
        alpha = torch.softmax(logits.masked_fill(~keys[:, 1:], float("-inf")), dim=1)  # (B, N_tok)
        weights = alpha @ self.owner_onehot(tuple(owner), alpha)  # (B, M)
        embedding = self.out(fused + torch.einsum("bn,bnd->bd", alpha, toks))
        return {"embedding": embedding, "modality_weights": weights}
