"""Rate jitter (train.rate_jitter): windows as slower sensors deliver them; off by default."""

from __future__ import annotations

import math

import pytest
import torch
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.recipes.config import ConfigError
from weldfusion.recipes.training import RateJitterConfig
from weldfusion.recipes.tree import load_recipe
from weldfusion.tools.training.augment import RateJitter, hold_frames, lowpass

S = 1024


def _tone(cycles_per_window: float) -> torch.Tensor:
    k = torch.arange(S, dtype=torch.float64)
    return torch.sin(2 * math.pi * cycles_per_window * k / S)


def _amplitude(x: torch.Tensor, cycles: float) -> float:
    """Amplitude of the tone at ``cycles`` in the middle half of the window (edges left out)."""
    k = torch.arange(S, dtype=torch.float64)[S // 4: 3 * S // 4]
    mid = x[S // 4: 3 * S // 4].double()
    c, s = torch.cos(2 * math.pi * cycles * k / S), torch.sin(2 * math.pi * cycles * k / S)
    return float(2 * torch.sqrt((mid * c).mean() ** 2 + (mid * s).mean() ** 2))


def test_lowpass_keeps_the_band_below_the_cut_and_removes_the_band_above():
    low, high = 0.2 * S / 2, 0.75 * S / 2  # tones at 0.2 and 0.75 of the Nyquist frequency
    x = (3.0 + _tone(low) + _tone(high)).float()[None, None, :].repeat(2, 3, 1)  # (B, C, S)
    y = lowpass(x, torch.tensor([0.5, 1.0]))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert _amplitude(y[0, 1], low) == pytest.approx(1.0, abs=0.02)
    assert _amplitude(y[0, 1], high) < 0.01  # a sensor at half the window rate cannot deliver it
    assert torch.allclose(y[1], x[1], atol=1e-4)  # factor 1: unchanged
    assert float(y[0].mean()) == pytest.approx(float(x[0].mean()), abs=0.005)  # the mean (3) stays


def test_hold_frames_is_a_slower_camera_nearest_frame():
    t = 16
    x = torch.arange(t, dtype=torch.float32)[None, :, None, None].repeat(3, 1, 2, 2)  # frame k holds k
    y = hold_frames(x, torch.tensor([1.0, 0.5, 0.25]))
    assert torch.equal(y[0], x[0])
    for b, step in ((1, 2), (2, 4)):
        idx = y[b, :, 0, 0]
        assert set(idx.tolist()) <= set(range(0, t, step))  # only the slower camera's own frames
        last = (t - 1) // step * step  # the camera's last frame inside the window
        k = torch.arange(t)
        assert torch.all((idx - k).abs()[k <= last] <= step / 2)  # each the nearest one
        assert torch.all(idx[k > last] == last)
        assert torch.equal(y[b, :, 1, 1], idx)  # the whole frame moves, not single pixels


def _info() -> DataInfo:
    return DataInfo(modalities=(ModalityShape("video", "image", (8, 4, 4), rate=20.0),
                                ModalityShape("acoustic", "signal", (1, S), (("mic",)), rate=2560.0)),
                    phases=("idle",), defects=("porosity",), pairs=("Al-steel",), window_s=0.4)


def _batch() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"video": torch.rand(6, 8, 4, 4, generator=g), "acoustic": torch.randn(6, 1, S, generator=g),
            "present": torch.ones(6, 2, dtype=torch.bool), "recording_id": ["r"] * 6}


def test_rate_jitter_changes_only_the_chosen_modalities_and_windows():
    batch = _batch()
    assert RateJitter(RateJitterConfig(), _info())(batch) is batch  # off by default
    torch.manual_seed(1)
    out = RateJitter(RateJitterConfig(prob=1.0, min_factor=0.4, modalities=["acoustic"]), _info())(batch)
    assert torch.equal(out["video"], batch["video"]) and out["present"] is batch["present"]
    assert out["recording_id"] == batch["recording_id"]
    changed = (out["acoustic"] - batch["acoustic"]).abs().amax(dim=(1, 2))
    assert torch.all(changed > 1e-3)  # every window low-passed (white noise loses its top band)
    assert batch["acoustic"].shape == out["acoustic"].shape
    torch.manual_seed(1)
    half = RateJitter(RateJitterConfig(prob=0.5), _info())(batch)
    moved = (half["acoustic"] - batch["acoustic"]).abs().amax(dim=(1, 2)) > 1e-3
    assert 0 < int(moved.sum()) < 6  # some windows, not all (fixed by the seed)
    torch.manual_seed(1)
    again = RateJitter(RateJitterConfig(prob=0.5), _info())(batch)
    assert torch.equal(again["acoustic"], half["acoustic"]) and torch.equal(again["video"], half["video"])


def test_rate_jitter_config_is_validated():
    with pytest.raises(ValueError, match="prob"):
        RateJitterConfig(prob=1.5)
    with pytest.raises(ValueError, match="min_factor"):
        RateJitterConfig(min_factor=0.0)
    with pytest.raises(ValueError, match="acustic"):
        RateJitter(RateJitterConfig(prob=0.5, modalities=["acustic"]), _info())
    assert RateJitter(RateJitterConfig(prob=0.5, modalities=["thermal"]), _info()).kinds == {}  # not in this data
    with pytest.raises((ConfigError, ValueError), match="rate_jitter"):
        load_recipe("fusion_all", ["train.rate_jitter.prob=2"])
    assert load_recipe("fusion_all", ["train.rate_jitter.prob=0.3"]).train.rate_jitter.prob == 0.3
