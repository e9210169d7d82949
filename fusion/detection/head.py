"""DETR-style box head on MS-STAN's spatial feature maps (issue 15).

Per kept frame of a window (the truth is per frame, and spatter, droplets and a weaving torch move
within a window, so one box per window would blur them): the frame's feature maps — MS-STAN's patch
embedding (B, T', h0, w0, c0) and its temporally aggregated conv maps (B, T', h, w, d) — are each
projected to the head size E, given a 2-D sine position code and a level embedding, and flattened
into one memory of h0 w0 + h w tokens. ``Q`` learned queries attend to it through a small
transformer decoder; each query gives class logits over the box classes plus "no object" and a box
(cx, cy, w, h) in [0, 1] of the frame (sigmoid). No anchors, no proposals, no NMS: the set loss
(:mod:`.loss`) matches queries to targets one to one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def sine_positions(h: int, w: int, dim: int, device=None) -> Tensor:
    """(h * w, dim) 2-D sine / cosine position code of an h x w grid (DETR's), rows then columns.

    Half the channels code the row centre, half the column centre, in [0, 1] of the map, so maps of
    two resolutions over the same frame share one coordinate frame."""
    quarter = dim // 4
    freq = torch.exp(torch.arange(quarter, device=device, dtype=torch.float32) * (-math.log(100.0) / max(quarter, 1)))
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h * 2 * math.pi
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w * 2 * math.pi
    py = torch.cat([torch.sin(ys[:, None] * freq * 10), torch.cos(ys[:, None] * freq * 10)], dim=1)  # (h, dim/2)
    px = torch.cat([torch.sin(xs[:, None] * freq * 10), torch.cos(xs[:, None] * freq * 10)], dim=1)  # (w, dim/2)
    pos = torch.cat([py[:, None, :].expand(h, w, -1), px[None, :, :].expand(h, w, -1)], dim=-1)  # (h, w, 4q)
    out = torch.zeros(h, w, dim, device=device)
    out[..., : pos.shape[-1]] = pos
    return out.reshape(h * w, dim)


class DetectionHead(nn.Module):
    """Set prediction of boxes per frame.

    Args:
        in_dims: channels of each feature level (c0, d).
        n_classes: C box classes (``sensors/boxes.py``); the logits have C + 1 columns, the last "no object".
        queries: Q; layers, heads, dim: the decoder (E = ``dim``).
    """

    def __init__(self, in_dims: Sequence[int], n_classes: int, queries: int = 16, layers: int = 2, heads: int = 4,
                 dim: int = 64) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(c, dim) for c in in_dims)
        self.level = nn.Parameter(torch.randn(len(in_dims), dim) * 0.02)
        self.queries = nn.Parameter(torch.randn(queries, dim) * 0.5)
        layer = nn.TransformerDecoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.cls = nn.Linear(dim, n_classes + 1)
        self.box = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 4))
        self.dim = dim
        self._pos: dict[tuple, Tensor] = {}

    def _position(self, h: int, w: int, device) -> Tensor:
        key = (h, w, str(device))
        if key not in self._pos:
            self._pos[key] = sine_positions(h, w, self.dim, device)
        return self._pos[key]

    def forward(self, maps: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """maps: per level (B, T', h_i, w_i, c_i) -> logits (B, T', Q, C + 1), boxes (B, T', Q, 4) (cx, cy, w, h) in [0, 1]."""
        b, t = maps[0].shape[:2]
        memory = []
        for i, (f, proj) in enumerate(zip(maps, self.proj, strict=True)):
            h, w = f.shape[2:4]
            tokens = proj(f.reshape(b * t, h * w, f.shape[-1]))  # (B T', h w, E)
            memory.append(tokens + self._position(h, w, f.device) + self.level[i])
        q = self.queries.expand(b * t, -1, -1)  # (B T', Q, E)
        out = self.decoder(q, torch.cat(memory, dim=1))  # (B T', Q, E)
        logits = self.cls(out).reshape(b, t, q.shape[1], -1)
        boxes = self.box(out).sigmoid().reshape(b, t, q.shape[1], 4)
        return logits, boxes
