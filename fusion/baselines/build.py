"""Builder of the comparison networks: the only baseline code that reads the model config."""

from __future__ import annotations

from torch import nn
from weldfusion.datasets.info import DataInfo
from weldfusion.fusion.baselines.cnn_lstm import CNNLSTMBaseline
from weldfusion.fusion.baselines.config import BASELINE_ARCHS
from weldfusion.fusion.baselines.r2plus1d import R2Plus1D18Baseline
from weldfusion.fusion.baselines.transformer import TransformerBaseline
from weldfusion.recipes.config import ConfigError


def build_baseline(cfg, info: DataInfo) -> nn.Module:
    """The comparison network named by ``cfg.arch`` (a :class:`~weldfusion.fusion.config.ModelConfig`)
    for data described by ``info``; its forward returns the fusion model's output dict."""
    n_phases, n_defects = len(info.phases), len(info.defects)
    if cfg.arch == "r2plus1d18":
        c = cfg.baselines.r2plus1d18
        dropout = cfg.head_dropout if c.dropout is None else c.dropout
        return R2Plus1D18Baseline(info.names, n_phases, n_defects, cfg.projection_dim, dropout)
    if cfg.arch == "cnn_lstm":
        c = cfg.baselines.cnn_lstm
        use = ("video",) + tuple(n for n, on in (("thermal", c.use_thermal), ("acoustic", c.use_acoustic),
                                                 ("electrical", c.use_electrical)) if on and n in info.names)
        return CNNLSTMBaseline(info, cfg.dim, c.frame_channels, c.signal_channels, c.steps, c.hidden, c.layers,
                               c.bidirectional, use, cfg.projection_dim, cfg.head_dropout, cfg.modality_dropout)
    if cfg.arch == "transformer":
        c = cfg.baselines.transformer
        return TransformerBaseline(info, cfg.dim, c.layers, c.heads, c.ff_mult, c.dropout, c.video_tubelet,
                                   c.thermal_tubelet, c.signal_token_ms, cfg.projection_dim, cfg.head_dropout,
                                   cfg.modality_dropout)
    raise ConfigError(f"model.arch: {cfg.arch!r} is not a baseline (baselines: {', '.join(BASELINE_ARCHS)})")
