"""Knowledge-guided attention prior (Eq. 45-46).

Psi_knowledge maps the process knowledge of the window — standardised heat input, current and
travel speed (linear energy) and a learned material-pair embedding (alloy chemistry) — to a query
vector; its match with every position of the feature map, softmax-normalised over h x w
(Normalize of Eq. 46), is the prior alpha_knowledge added to the spatial attention (Eq. 45).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class KnowledgePrior(nn.Module):
    """(f (B, T, h, w, d), params (B, P), pair (B,)) -> prior (B, T, h, w), sums to 1 over h x w.

    Args:
        dim: channels d of the feature maps.
        param_index: columns of ``params`` used (heat input, current, travel speed).
        n_pairs: number of material pairs (size of the embedding table).
        pair_dim: size of the material-pair embedding.
    """

    def __init__(self, dim: int, param_index: tuple[int, ...], n_pairs: int, pair_dim: int) -> None:
        super().__init__()
        self.register_buffer("param_index", torch.tensor(param_index, dtype=torch.long), persistent=False)
        self.pair = nn.Embedding(n_pairs, pair_dim)
        self.query = nn.Sequential(nn.Linear(len(param_index) + pair_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.key = nn.Linear(dim, dim, bias=False)
        self.dim = dim

    def forward(self, f: Tensor, params: Tensor, pair: Tensor) -> Tensor:
        """f: (B, T, h, w, d), params: (B, P), pair: (B,) -> (B, T, h, w)."""
        b, t, h, w, _ = f.shape
        x = torch.cat([params.index_select(1, self.param_index), self.pair(pair)], dim=1)  # (B, 3 + pair_dim)
        q = self.query(x)  # (B, d)
        logits = torch.einsum("bthwd,bd->bthw", self.key(f), q) / math.sqrt(self.dim)
        return torch.softmax(logits.reshape(b, t, h * w), dim=-1).reshape(b, t, h, w)  # Eq. 46
