"""DETR-style box head on MS-STAN's spatial feature maps (issue 15).

Per kept frame of a window (the truth is per frame, and spatter, droplets and a weaving torch move
within a window, so one box per window would blur them): the frame's feature maps — MS-STAN's patch
embedding (B, T', h0, w0, c0) and its temporally aggregated conv maps (B, T', h, w, d) — are each
projected to the head size E, given a 2-D sine position code and a level embedding, and flattened
into one memory of h0 w0 + h w tokens. ``Q`` learned queries attend to it through a small
transformer decoder; each query gives class logits over the box classes plus "no object" and a box
(cx, cy, w, h) in [0, 1] of the frame (sigmoid). No anchors, no NMS: the set loss (:mod:`.loss`)
matches queries to targets one to one.

Seeded queries (``seeded`` > 0; the two-stage query selection of Deformable DETR / RT-DETR): learned
queries settle on the frequent large objects (arc, pool, wire tip) and miss a 2x2-pixel pore. So every
memory token also scores the box classes (sigmoid) and proposes a box relative to its own cell;
the ``seeded`` best-scoring tokens of each frame become further queries — content from the token,
box refined from its proposal — decoded together with the learned ones. The token scores and
proposals are trained densely (:func:`~.loss.seed_loss`: each target's centre cell on every level
is a positive), so a small object has a query where it is, whatever the learned queries learned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _centres(n: int, device=None) -> Tensor:
    """(n,) centres of n equal cells of [0, 1]: (i + 0.5) / n."""
    return (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n


def sine_positions(h: int, w: int, dim: int, device=None) -> Tensor:
    """(h * w, dim) 2-D sine / cosine position code of an h x w grid (DETR's), rows then columns.

    Half the channels code the row centre, half the column centre, in [0, 1] of the map, so maps of
    two resolutions over the same frame share one coordinate frame."""
    quarter = dim // 4
    freq = torch.exp(torch.arange(quarter, device=device, dtype=torch.float32) * (-math.log(100.0) / max(quarter, 1)))
    ys = _centres(h, device) * 2 * math.pi
    xs = _centres(w, device) * 2 * math.pi
    py = torch.cat([torch.sin(ys[:, None] * freq * 10), torch.cos(ys[:, None] * freq * 10)], dim=1)  # (h, dim/2)
    px = torch.cat([torch.sin(xs[:, None] * freq * 10), torch.cos(xs[:, None] * freq * 10)], dim=1)  # (w, dim/2)
    pos = torch.cat([py[:, None, :].expand(h, w, -1), px[None, :, :].expand(h, w, -1)], dim=-1)  # (h, w, 4q)
    out = torch.zeros(h, w, dim, device=device)
    out[..., : pos.shape[-1]] = pos
    return out.reshape(h * w, dim)


def cell_anchors(h: int, w: int, device=None) -> Tensor:
    """(h * w, 4) (cx, cy, w, h) in [0, 1] of each cell of an h x w grid, rows then columns (the order of
    :func:`sine_positions` and of a flattened map)."""
    cy, cx = torch.meshgrid(_centres(h, device), _centres(w, device), indexing="ij")
    size = torch.tensor([1.0 / w, 1.0 / h], device=device).expand(h * w, 2)
    return torch.cat([cx.reshape(-1, 1), cy.reshape(-1, 1), size], dim=1)


def relative_box(ref: Tensor, delta: Tensor) -> Tensor:
    """Box (..., 4) (cx, cy, w, h) from a reference box (..., 4) and offsets (..., 4): the centre moves by
    ``delta[:2]`` reference sizes, the size scales by ``exp(delta[2:])`` (clamped to e^+-4); centre and
    size kept in [0, 1]."""
    centre = (ref[..., :2] + delta[..., :2] * ref[..., 2:]).clamp(0.0, 1.0)
    size = (ref[..., 2:] * torch.exp(delta[..., 2:].clamp(-4.0, 4.0))).clamp(1e-4, 1.0)
    return torch.cat([centre, size], dim=-1)


def _mlp(dim: int, out: int) -> nn.Sequential:
    """Two-layer box MLP, (..., dim) -> (..., out)."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, out))


class DetectionHead(nn.Module):
    """Set prediction of boxes per frame.

    Args:
        in_dims: channels of each feature level (c0, d).
        n_classes: C box classes (``sensors/boxes.py``); the logits have C + 1 columns, the last "no object".
        queries: Q learned queries; layers, heads, dim: the decoder (E = ``dim``).
        seeded: S queries seeded from the best-scoring memory tokens of each frame (module docstring);
            0: learned queries only.
    """

    def __init__(self, in_dims: Sequence[int], n_classes: int, queries: int = 16, layers: int = 2, heads: int = 4,
                 dim: int = 64, seeded: int = 0) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(c, dim) for c in in_dims)
        self.level = nn.Parameter(torch.randn(len(in_dims), dim) * 0.02)
        self.queries = nn.Parameter(torch.randn(queries, dim) * 0.5)
        layer = nn.TransformerDecoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.cls = nn.Linear(dim, n_classes + 1)
        self.box = _mlp(dim, 4)
        self.dim = dim
        self.seeded = seeded
        if seeded:
            self.seed_cls = nn.Linear(dim, n_classes)  # per token and class, sigmoid
            self.seed_box = _mlp(dim, 4)  # per token: offsets from its cell
            self.seed_query = nn.Linear(dim, dim)  # a seeded query's content from its token
            self.refine = _mlp(dim, 4)  # a seeded query's offsets from its token's proposal
            for net in (self.seed_box, self.refine):
                nn.init.zeros_(net[-1].weight)
                nn.init.zeros_(net[-1].bias)
            nn.init.constant_(self.seed_cls.bias, -4.6)  # prior 1 %: most tokens hold no object (focal-loss init)
        self._grids: dict[tuple, tuple[Tensor, Tensor]] = {}

    def _grid(self, h: int, w: int, device) -> tuple[Tensor, Tensor]:
        """Position code (h w, E) and cell anchors (h w, 4) of an h x w level, computed once per size and device."""
        key = (h, w, str(device))
        if key not in self._grids:
            self._grids[key] = (sine_positions(h, w, self.dim, device), cell_anchors(h, w, device))
        return self._grids[key]

    def forward(self, maps: Sequence[Tensor]) -> tuple[Tensor, Tensor, dict | None]:
        """maps: per level (B, T', h_i, w_i, c_i) -> logits (B, T', Q + S, C + 1), boxes (B, T', Q + S, 4)
        (cx, cy, w, h) in [0, 1], and with seeded queries the dense token predictions ``{"logits": (B, T', N, C),
        "boxes": (B, T', N, 4), "levels": ((h_i, w_i), ...)}`` (N = sum of h_i w_i, levels in ``maps`` order;
        what :func:`~.loss.seed_loss` trains), else None."""
        b, t = maps[0].shape[:2]
        memory, anchors = [], []
        for i, (f, proj) in enumerate(zip(maps, self.proj, strict=True)):
            h, w = f.shape[2:4]
            tokens = proj(f.reshape(b * t, h * w, f.shape[-1]))  # (B T', h w, E)
            position, cells = self._grid(h, w, f.device)
            memory.append(tokens + position + self.level[i])
            anchors.append(cells)
        memory = torch.cat(memory, dim=1)  # (B T', N, E)
        q = self.queries.expand(b * t, -1, -1)  # (B T', Q, E)
        dense = None
        if self.seeded:
            token_logits = self.seed_cls(memory)  # (B T', N, C)
            token_boxes = relative_box(torch.cat(anchors)[None], self.seed_box(memory))  # (B T', N, 4)
            top = token_logits.amax(dim=-1).topk(min(self.seeded, memory.shape[1]), dim=1).indices  # (B T', S)
            seeds = torch.gather(memory, 1, top[..., None].expand(-1, -1, memory.shape[-1]))  # (B T', S, E)
            proposal = torch.gather(token_boxes, 1, top[..., None].expand(-1, -1, 4)).detach()  # (B T', S, 4)
            q = torch.cat([q, self.seed_query(seeds)], dim=1)  # (B T', Q + S, E)
            dense = {"logits": token_logits.reshape(b, t, -1, token_logits.shape[-1]),
                     "boxes": token_boxes.reshape(b, t, -1, 4), "levels": tuple(tuple(f.shape[2:4]) for f in maps)}
        out = self.decoder(q, memory)  # (B T', Q + S, E)
        n_learned = self.queries.shape[0]
        boxes = self.box(out[:, :n_learned]).sigmoid()
        if self.seeded:
            boxes = torch.cat([boxes, relative_box(proposal, self.refine(out[:, n_learned:]))], dim=1)
        logits = self.cls(out).reshape(b, t, q.shape[1], -1)
        return logits, boxes.reshape(b, t, q.shape[1], 4), dense
