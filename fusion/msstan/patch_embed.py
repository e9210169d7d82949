"""Patch embedding and convolution + batch-norm stages: frames -> spatial feature maps f_t (Eq. 8).

The patch embedding is cheap and runs on every frame (its output feeds the frame-sampling
scores, Eq. 40); the conv stages are the expensive part and run only on the kept frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from weldfusion.fusion.frozen_cache import conv_bn


def sobel_magnitude(x: Tensor) -> Tensor:
    """Sobel gradient magnitude of each image, (N, 1, H, W) -> (N, 1, H, W), same units per pixel.

    The 3x3 Sobel kernels ([-1, 0, 1] x [1, 2, 1] / 8 and its transpose, replicate-padded borders)
    are applied as their separable shifted sums: a 1 -> 2 channel conv2d of this size is a slow
    oneDNN path on CPU (about 1.4 ms of a 4 ms batch-1 forward), the slices cost a few element-wise ops.
    """
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")  # (N, 1, H + 2, W + 2)
    dx = p[..., 2:] - p[..., :-2]  # (N, 1, H + 2, W): centred difference along W
    dy = p[..., 2:, :] - p[..., :-2, :]  # (N, 1, H, W + 2): centred difference along H
    gx = dx[..., :-2, :] + dx[..., 2:, :] + 2.0 * dx[..., 1:-1, :]  # 8 x (smoothed along H)
    gy = dy[..., :-2] + dy[..., 2:] + 2.0 * dy[..., 1:-1]  # 8 x (smoothed along W)
    # The /8 of both kernels is one multiply after the root (half the element-wise passes of dividing
    # gx and gy; same value within float32 rounding): sqrt(gx^2 + gy^2 + 64 eps) / 8 = sqrt((gx/8)^2 + (gy/8)^2 + eps).
    return torch.sqrt(gx * gx + gy * gy + 64e-12) * 0.125


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> vectors: (B, T, H, W) -> (B, T, h0, w0, c0).

    Frames whose sides are not multiples of ``patch_size`` are padded at the bottom/right with
    zeros. With ``gradient_channel`` the Sobel gradient magnitude is a second input channel.
    """

    def __init__(self, patch_size: int, dim: int, gradient_channel: bool = False) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.gradient_channel = gradient_channel
        self.proj = nn.Conv2d(2 if gradient_channel else 1, dim, patch_size, stride=patch_size)

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """(h0, w0) patch grid of a (height, width) frame."""
        p = self.patch_size
        return -(-height // p), -(-width // p)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, T, H, W) frames -> (B, T, h0, w0, c0)."""
        b = x.shape[0]
        frames = rearrange(x, "b t h w -> (b t) 1 h w")
        if self.gradient_channel:
            frames = torch.cat([frames, sobel_magnitude(frames)], dim=1)  # (B*T, 2, H, W)
        p = self.patch_size
        pad_h, pad_w = (-frames.shape[-2]) % p, (-frames.shape[-1]) % p
        if pad_h or pad_w:
            frames = F.pad(frames, (0, pad_w, 0, pad_h))
        if frames.device.type == "cpu" and not torch.backends.mkldnn.enabled:
            # PyTorch's native CPU kernels (the live monitor's batch-1 choice, tools/streaming/batch_one.py)
            # run this stride-p conv through NNPACK / im2col, 2-3x slower than the same sums as one matrix
            # product over the patches; oneDNN's conv is the faster of the two, so it keeps the conv
            n, c, height, width = frames.shape
            h0, w0 = height // p, width // p
            patches = frames.reshape(n, c, h0, p, w0, p).permute(0, 2, 4, 1, 3, 5).reshape(n, h0, w0, c * p * p)
            y = F.linear(patches, self.proj.weight.reshape(self.proj.out_channels, -1), self.proj.bias)
            return y.reshape(b, -1, h0, w0, y.shape[-1])  # (B, T, h0, w0, c0)
        y = self.proj(frames)  # (B*T, c0, h0, w0)
        return rearrange(y, "(b t) c h w -> b t h w c", b=b)


class ConvStage(nn.Module):
    """3x3 convolution + batch norm + GELU; residual when shape is kept."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, c_in, h, w) -> (N, c_out, h', w')."""
        y = F.gelu(conv_bn(self, self.conv, self.bn, x))
        return x + y if self.residual else y


class ConvStages(nn.Module):
    """The conv + batch-norm stages: (B, T, h0, w0, c0) -> f (B, T, h, w, d), d = dims[-1].

    The patch vectors are first normalised (BatchNorm over c0), then each stage is a 3x3 conv +
    batch norm + GELU with the stage's stride.
    """

    def __init__(self, c0: int, dims: tuple[int, ...], strides: tuple[int, ...]) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(c0)
        chans = (c0, *dims)
        self.stages = nn.Sequential(*(ConvStage(chans[i], chans[i + 1], s) for i, s in enumerate(strides)))
        self.strides = tuple(strides)

    def grid(self, h0: int, w0: int) -> tuple[int, int]:
        """(h, w) of the output maps for an (h0, w0) input grid."""
        for s in self.strides:
            h0, w0 = (h0 - 1) // s + 1, (w0 - 1) // s + 1
        return h0, w0

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, T, h0, w0, c0) -> (B, T, h, w, d)."""
        b, t, h, w, c = x.shape
        y = self.stages(self.norm(x.reshape(b * t, h, w, c).permute(0, 3, 1, 2)))  # (B*T, d, h', w') channels-last
        return y.permute(0, 2, 3, 1).unflatten(0, (b, t))  # (B, T, h', w', d)
