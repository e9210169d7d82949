"""Prediction refinement over time for streams (Eq. 49): P'(k) = (1/Z) sum_t w_t P_t(k).

The weights decay exponentially into the past, w_t = decay^(age), age 0 for the newest window;
Z = sum_t w_t so that refined probabilities still sum to 1 (single-label) or stay in [0, 1].
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
from torch import Tensor


def _decay_weights(k: int, decay: float) -> np.ndarray:
    """(K,) float64 weights decay^age, oldest first (age K-1) to the newest (age 0, weight 1)."""
    return decay ** np.arange(k - 1, -1, -1, dtype=np.float64)


def refine(history: Tensor | np.ndarray, decay: float = 0.6) -> Tensor | np.ndarray:
    """Eq. 49 over the last K windows.

    history: (K, C) or (B, K, C) probabilities, oldest first -> (C,) or (B, C); a tensor gives a
    tensor, an array an array (the live engine's hop is numpy: no tensor round trip per window).
    """
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    w = _decay_weights(history.shape[-2], decay)
    if isinstance(history, np.ndarray):
        w = w.astype(history.dtype if history.dtype.kind == "f" else np.float64)
        return np.einsum("k,...kc->...c", w, history) / w.sum()
    w = torch.as_tensor(w, dtype=history.dtype, device=history.device)  # (K,), newest = 1
    return torch.einsum("k,...kc->...c", w, history) / w.sum()


class PredictionRefiner:
    """Keeps the last ``window`` probability vectors of a stream and returns their Eq. 49 average
    (tensors or arrays: the result is of the kind fed)."""

    def __init__(self, window: int = 3, decay: float = 0.6) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.decay = decay
        self.history: deque = deque(maxlen=window)

    def reset(self) -> None:
        """Forget the stream (e.g. at the start of a new recording)."""
        self.history.clear()

    def update(self, probs: Tensor | np.ndarray) -> Tensor | np.ndarray:
        """probs: (C,) or (B, C) of the newest window -> refined probabilities of the same shape."""
        if isinstance(probs, np.ndarray):
            self.history.append(np.array(probs, copy=True))
            return refine(np.stack(self.history, axis=-2), self.decay)
        self.history.append(probs.detach())
        return refine(torch.stack(list(self.history), dim=-2), self.decay)
