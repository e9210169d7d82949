"""R(2+1)D-18 baseline: torchvision's video ResNet with (2+1)D convolutions on the video window.

Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition" (CVPR 2018);
torchvision's ``r2plus1d_18(weights=None)``, trained from scratch. The only change to the network
is the stem's first convolution, which takes the single grey channel instead of RGB (same
(1, 7, 7) kernel, (1, 2, 2) stride and 45 output channels). It sees only the video modality.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn
from torchvision.models.video import r2plus1d_18
from weldfusion.fusion.baselines.common import (
    BaselineHeads,
    batch_presence,
    used_presence_weights,
)
from weldfusion.recipes.errors import InvalidInput

FEATURE_DIM = 512  # width of R(2+1)D-18's last stage


class R2Plus1D18Baseline(nn.Module):
    """Video-only R(2+1)D-18 with phase and defect heads.

    Args:
        names: modality names in presence-mask column order (must contain ``video``).
        n_phases, n_defects: classes of the taxonomy.
        projection_dim: output size of the projection head.
        dropout: dropout before the heads.
    """

    def __init__(self, names: tuple[str, ...], n_phases: int, n_defects: int, projection_dim: int,
                 dropout: float) -> None:
        super().__init__()
        if "video" not in names:
            raise InvalidInput(f"r2plus1d18 needs the video modality (data has: {', '.join(names)})")
        self.names = tuple(names)
        self.video_index = self.names.index("video")
        net = r2plus1d_18(weights=None)
        old = net.stem[0]
        net.stem[0] = nn.Conv3d(1, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False)
        net.fc = nn.Identity()
        self.net = net
        self.heads = BaselineHeads(FEATURE_DIM, n_phases, n_defects, projection_dim, dropout)
        used = torch.zeros(len(self.names), dtype=torch.bool)
        used[self.video_index] = True
        self.register_buffer("used", used, persistent=False)

    def forward(self, batch: dict) -> dict:
        """batch: ``video`` (B, T, H, W), ``present`` (B, M); other keys are ignored.

        Windows without video get the clip the dataset delivers for them (zeros). Returns the
        fusion model's output dict with ``embedding`` (B, 512) and ``modality_weights`` (B, M)
        one-hot on the video column (zero rows where video is absent).
        """
        present = batch_presence(batch, False, 0.0)
        x = rearrange(batch["video"], "b t h w -> b 1 t h w")  # (B, 1, T, H, W)
        emb = self.net(x)  # (B, 512)
        return self.heads(emb, used_presence_weights(present, self.used), present, {})
