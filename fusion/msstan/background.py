"""Background suppression (Eq. 29-31).

f_fg = f - Phi_bg(f) (Eq. 29), Phi_bg a light network (spatial 3x3 low-pass + channel mixing);
f_rec = Phi_fg(f_fg) + Phi_bg(f) and the reconstruction term ||f_rec - f||^2 (Eq. 30, here the
mean over frames and elements instead of the sum: a constant factor absorbed into its weight).
Eq. 31 (f_final = m_occ * f_fg) is applied by the caller with the occlusion mask.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class BackgroundSuppression(nn.Module):
    """(B, T, h, w, d) -> foreground features and per-sample reconstruction error."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.background = nn.Linear(dim, dim)
        self.foreground = nn.Linear(dim, dim)

    def estimate_background(self, f: Tensor) -> Tensor:
        """Phi_bg: f (B, T, h, w, d) -> background estimate (B, T, h, w, d)."""
        b, t, h, w, d = f.shape
        x = f.reshape(b * t, h, w, d).permute(0, 3, 1, 2)  # (B*T, d, h, w), channels-last view
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)  # spatial low-pass
        return self.background(x.permute(0, 2, 3, 1).reshape(b, t, h, w, d))

    def forward(self, f: Tensor, with_error: bool = True) -> tuple[Tensor, Tensor | None]:
        """f: (B, T, h, w, d) -> (f_fg (B, T, h, w, d), reconstruction error (B,) or None)."""
        bg = self.estimate_background(f)
        fg = f - bg  # Eq. 29
        if not with_error:
            return fg, None
        recon = self.foreground(fg) + bg
        err = (recon - f).pow(2).flatten(1).mean(dim=1)  # Eq. 30
        return fg, err
