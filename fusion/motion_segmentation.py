"""Motion-segmentation head: which pixels of a kept frame moved since the frame before (issue 15,
the auxiliary task of the hybrid spatiotemporal model; truth ``/truth/video_motion``).

A 1x1 convolution of each MS-STAN feature level (the patch embedding (B, T', h0, w0, c0) and the
temporally aggregated maps (B, T', h, w, d), which see the neighbouring frames) to one logit map,
the coarse one bilinearly upsampled onto the fine one and added, then upsampled to the window's
frame size (H, W). Its loss is binary cross-entropy plus soft Dice (moving pixels are a few
percent of a frame; Dice keeps them from being drowned by the still background).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


class MotionHead(nn.Module):
    """Per-pixel motion logits. in_dims: channels of each feature level; frame_hw: (H, W) of the window frames."""

    def __init__(self, in_dims: Sequence[int], frame_hw: tuple[int, int]) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(c, 1) for c in in_dims)
        self.frame_hw = (int(frame_hw[0]), int(frame_hw[1]))

    def forward(self, maps: Sequence[Tensor]) -> Tensor:
        """maps: per level (B, T', h_i, w_i, c_i), finest first -> (B, T', H, W) logits."""
        b, t = maps[0].shape[:2]
        fine = maps[0].shape[2:4]
        total = None
        for f, proj in zip(maps, self.proj, strict=True):
            x = proj(f).squeeze(-1).reshape(b * t, 1, *f.shape[2:4])  # (B T', 1, h_i, w_i)
            if tuple(x.shape[-2:]) != tuple(fine):
                x = F.interpolate(x, size=fine, mode="bilinear", align_corners=False)
            total = x if total is None else total + x
        out = F.interpolate(total, size=self.frame_hw, mode="bilinear", align_corners=False)
        return out.reshape(b, t, *self.frame_hw)


def motion_loss(logits: Tensor, target: Tensor) -> Tensor:
    """BCE + soft Dice of (N, H, W) logits against (N, H, W) 0/1 targets -> scalar (0 for N = 0)."""
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    target = target.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = logits.sigmoid()
    inter = (p * target).sum(dim=(1, 2))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2)) + target.sum(dim=(1, 2)) + 1)
    return bce + dice.mean()


def motion_iou(logits: Tensor, target: Tensor, threshold: float = 0.5) -> tuple[int, int]:
    """(intersection, union) pixel counts of ``sigmoid(logits) > threshold`` against ``target``, any shape."""
    pred = logits.sigmoid() > threshold
    truth = target.bool()
    return int((pred & truth).sum()), int((pred | truth).sum())

