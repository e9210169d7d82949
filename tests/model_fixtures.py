"""Tiny DataInfo objects, model configs and random batches for the model tests (no dataset needed)."""

from __future__ import annotations

import dataclasses

import torch
from weldfusion.datasets.info import PARAM_NAMES, DataInfo, ModalityShape
from weldfusion.fusion.config import (
    AcousticEncoderConfig,
    ElectricalEncoderConfig,
    LossConfig,
    ModelConfig,
    MSSTANConfig,
)
from weldfusion.recipes.taxonomy import DEFAULT_DEFECTS, DEFAULT_PHASES, MATERIAL_PAIRS

ELECTRICAL = ("current", "voltage", "wire_feed", "travel_speed", "power", "heat_input", "short_circuit")
WINDOW_S = 0.4


def tiny_info(ae: bool = False, names: tuple[str, ...] = ("video", "thermal", "acoustic", "electrical")) -> DataInfo:
    """Small windows of the demo layout: video (6, 16, 16), thermal (4, 12, 16), acoustic (1|2, 1600)
    at 4 kHz, electrical (7, 200) at 500 Hz."""
    shapes = {
        "video": ModalityShape("video", "image", (6, 16, 16), rate=6 / WINDOW_S),
        "thermal": ModalityShape("thermal", "image", (4, 12, 16), rate=4 / WINDOW_S),
        "acoustic": ModalityShape("acoustic", "signal", (2 if ae else 1, 1600),
                                  ("mic", "ae") if ae else ("mic",), rate=4000.0),
        "electrical": ModalityShape("electrical", "signal", (7, 200), ELECTRICAL, rate=500.0),
    }
    return DataInfo(tuple(shapes[n] for n in names), DEFAULT_PHASES, DEFAULT_DEFECTS, MATERIAL_PAIRS, WINDOW_S,
                    PARAM_NAMES)


def tiny_msstan(**overrides) -> MSSTANConfig:
    base = dict(patch_size=4, stage_dims=(8, 12), stage_strides=(1, 2), temporal_scales=(1, 3), pair_embed_dim=4)
    return MSSTANConfig(**{**base, **overrides})


def tiny_config(**overrides) -> ModelConfig:
    """A model of a few thousand parameters, every component on."""
    base = dict(
        dim=16, fusion_heads=2, projection_dim=8, modality_dropout=0.0, head_dropout=0.0,
        video=tiny_msstan(), thermal=tiny_msstan(adaptive_sampling=False, gradient_channel=True),
        acoustic=AcousticEncoderConfig(n_mels=8, conv_dim=8, layers=1, ae_bands=4),
        electrical=ElectricalEncoderConfig(conv_dim=8, kernel_sizes=(3, 9), token_ms=50.0),
    )
    return ModelConfig(**{**base, **overrides})


def tiny_loss(**overrides) -> LossConfig:
    return dataclasses.replace(LossConfig(), **overrides)


def random_batch(info: DataInfo, batch: int = 4, seed: int = 0, present: torch.Tensor | None = None) -> dict:
    """A batch dict of the ``datasets/info.py`` contract filled with seeded noise."""
    g = torch.Generator().manual_seed(seed)
    out: dict = {}
    for m in info.modalities:
        out[m.name] = torch.randn((batch, *m.shape), generator=g)
    if "electrical" in info.names:
        sc = ELECTRICAL.index("short_circuit")
        samples = info.modality("electrical").shape[1]
        out["electrical"][:, sc] = (torch.rand(batch, samples, generator=g) > 0.7) * 2.0 - 0.5
    out["present"] = torch.ones(batch, len(info.names), dtype=torch.bool) if present is None else present
    out["params"] = torch.randn(batch, len(info.params), generator=g)
    out["pair"] = torch.randint(0, len(info.pairs), (batch,), generator=g)
    out["phase"] = torch.arange(batch) % len(info.phases)
    out["defects"] = (torch.rand(batch, len(info.defects), generator=g) > 0.7).float()
    return out
