"""Frame resizing of the window assembly equals per-frame ``cv2.resize`` (INTER_AREA) at any ratio."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from weldfusion.datasets.resample import resize_frames


@pytest.mark.parametrize("shape, size", [((16, 64, 64), (16, 16)), ((6, 30, 40), (16, 16)),
                                         ((9, 480, 640), (64, 64)), ((5, 12, 16), (24, 32))])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_resize_frames_matches_cv2_per_frame(shape, size, dtype):
    """Integer and non-integer ratios (a 640x480 camera to 64x64: OpenCV's multi-channel area
    resize refuses more than 4 channels there), shrinking and growing, both dtypes."""
    rng = np.random.default_rng(0)
    frames = (rng.random(shape) * 255).astype(dtype)
    out = resize_frames(frames, size)
    ref = np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA) for f in frames])
    assert out.shape == (shape[0], *size) and out.dtype == frames.dtype
    np.testing.assert_allclose(out.astype(np.float64), ref.astype(np.float64), atol=1e-4)
