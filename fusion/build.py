"""Builders: the only code that reads :class:`ModelConfig` / :class:`LossConfig`.

``build_model(cfg, info)`` sizes every encoder from the :class:`DataInfo` (one encoder per
modality, found by name in ``sensors/<name>/encoder.py``) and ``build_loss(cfg, info)`` checks
the loss settings against the taxonomy.
"""

from __future__ import annotations

import dataclasses

import torch
from weldfusion.datasets.info import DataInfo
from weldfusion.fusion.concat_fusion import ConcatFusion
from weldfusion.fusion.config import LocalisationConfig, LossConfig, ModelConfig
from weldfusion.fusion.encoder_base import encoder_spec
from weldfusion.fusion.heads import DefectHead, PhaseHead, ProjectionHead
from weldfusion.fusion.late_fusion import LateFusion
from weldfusion.fusion.localisation import LocalisationHeads
from weldfusion.fusion.losses import WeldFusionLoss
from weldfusion.fusion.modality_attention import ModalityAttentionFusion
from weldfusion.fusion.modality_heads import ModalityHeads
from weldfusion.fusion.model import WeldFusionModel
from weldfusion.fusion.msstan.model import MSSTAN
from weldfusion.recipes.config import ConfigError, from_dict
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.boxes import CLASSES as BOX_CLASSES
from weldfusion.sensors.registry import params_sensors


def _encoder_settings(cfg: ModelConfig, name: str, config_cls: type) -> dict:
    """Plain keyword arguments of the encoder of modality ``name``."""
    typed = {f.name for f in dataclasses.fields(cfg)} - {"other"}
    if name in typed:
        section = getattr(cfg, name)
        if not isinstance(section, config_cls):
            raise ConfigError(f"model.{name}: expected {config_cls.__name__}, got {type(section).__name__}")
    else:
        section = from_dict(config_cls, cfg.other.get(name, {}), prefix=f"model.other.{name}")
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}


def build_model(cfg: ModelConfig, info: DataInfo) -> WeldFusionModel | torch.nn.Module:
    """The :class:`WeldFusionModel` for data described by ``info`` (or, when ``cfg.arch`` names a
    comparison network, that baseline of ``fusion/baselines/``, with the same output dict)."""
    if not info.modalities:
        raise InvalidInput("DataInfo has no modalities")
    if cfg.arch != "msstan":
        from weldfusion.fusion.baselines.build import build_baseline  # lazy: the baselines pull in torchvision

        return build_baseline(cfg, info)
    encoders = {}
    for shape in info.modalities:
        spec = encoder_spec(shape.name)
        encoders[shape.name] = spec.encoder(shape=shape, info=info, dim=cfg.dim,
                                            **_encoder_settings(cfg, shape.name, spec.config))
    names = info.names
    n_phases, n_defects = len(info.phases), len(info.defects)
    phase_head = defect_head = None
    if cfg.fusion == "attention":
        fusion = ModalityAttentionFusion(names, cfg.dim, cfg.fusion_layers, cfg.fusion_heads)
    elif cfg.fusion == "concat":
        fusion = ConcatFusion(names, cfg.dim)
    elif cfg.fusion == "late":
        fusion = LateFusion(names, cfg.dim, n_phases, n_defects, cfg.head_dropout)
    else:
        raise ConfigError(f"model.fusion: unknown fusion {cfg.fusion!r}")
    if not fusion.produces_logits:
        phase_head = PhaseHead(cfg.dim, n_phases, cfg.head_dropout)
        defect_head = DefectHead(cfg.dim, n_defects, cfg.head_dropout)
    heads = ModalityHeads(names, cfg.dim, n_phases, n_defects) if cfg.modality_heads else None
    return WeldFusionModel(
        names, encoders, fusion, phase_head, defect_head, ProjectionHead(cfg.dim, cfg.projection_dim),
        modality_dropout=cfg.modality_dropout, skip_absent=cfg.skip_absent,
        params_source=_params_source(names), modality_heads=heads,
        localisation=_localisation_heads(cfg, info, encoders))


def _params_source(names: tuple[str, ...]) -> int | None:
    """Index in ``names`` of the sensor the window parameters come from: the first process-data sensor
    the model reads (the arc's DAQ, else an FSW machine); None when it reads none."""
    return next((names.index(p) for p in params_sensors() if p in names), None)


def _localisation_heads(cfg: ModelConfig, info: DataInfo, encoders: dict) -> dict | None:
    """``{modality: LocalisationHeads}`` of ``cfg.localisation`` (None when both heads are off)."""
    loc = cfg.localisation
    if not loc.enabled:
        return None
    net = getattr(encoders.get(loc.modality), "net", None)
    if not isinstance(net, MSSTAN):
        raise ConfigError(f"model.localisation.modality: {loc.modality!r} is not an image modality with an MS-STAN "
                          f"encoder (data: {', '.join(info.names)})")
    return {loc.modality: LocalisationHeads(
        net.map_dims, encoders[loc.modality].frame_shape[1:3], len(BOX_CLASSES), detection=loc.detection,
        motion=loc.motion, queries=loc.queries, layers=loc.decoder_layers, heads=loc.decoder_heads, dim=loc.head_dim,
        motion_at_inference=loc.motion_at_inference, pixel_level=loc.pixel_level, seeded=loc.seeded_queries)}


def similarity_matrix(pairs: tuple[tuple[str, str, float], ...], phases: tuple[str, ...]) -> torch.Tensor:
    """Symmetric (P, P) class-similarity matrix S of Eq. 47 with a zero diagonal."""
    s = torch.zeros(len(phases), len(phases))
    for a, b, value in pairs:
        for label in (a, b):
            if label not in phases:
                raise ConfigError(f"loss.semantic_pairs: unknown phase {label!r} (phases: {', '.join(phases)})")
        if a == b:
            raise ConfigError(f"loss.semantic_pairs: pair ({a}, {b}) relates a phase to itself")
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"loss.semantic_pairs: similarity of ({a}, {b}) must be in [0, 1], got {value}")
        i, j = phases.index(a), phases.index(b)
        s[i, j] = s[j, i] = value
    return s


def build_loss(cfg: LossConfig, info: DataInfo, localisation: LocalisationConfig | None = None) -> WeldFusionLoss:
    """The :class:`WeldFusionLoss` for the taxonomy of ``info`` (and the heads of ``localisation``, when on)."""
    class_w = pos_w = None
    if cfg.phase_class_weights is not None:
        if len(cfg.phase_class_weights) != len(info.phases):
            raise ConfigError(f"loss.phase_class_weights: {len(cfg.phase_class_weights)} values for "
                              f"{len(info.phases)} phases")
        class_w = torch.tensor(cfg.phase_class_weights, dtype=torch.float32)
    if cfg.defect_pos_weight is not None:
        if len(cfg.defect_pos_weight) != len(info.defects):
            raise ConfigError(f"loss.defect_pos_weight: {len(cfg.defect_pos_weight)} values for "
                              f"{len(info.defects)} defects")
        pos_w = torch.tensor(cfg.defect_pos_weight, dtype=torch.float32)
    similarity = similarity_matrix(cfg.semantic_pairs, info.phases) if cfg.semantic_similarity else None
    located = None
    if localisation is not None and localisation.enabled:
        located = {"modality": localisation.modality, "no_object_weight": localisation.no_object_weight,
                   "match_weights": {"w_class": localisation.match_class, "w_l1": localisation.match_l1,
                                     "w_giou": localisation.match_giou}}
    return WeldFusionLoss(dataclasses.asdict(cfg.weights), class_w, pos_w, cfg.label_smoothing,
                          cfg.contrastive, cfg.contrastive_margin, similarity, cfg.temporal_consistency, located)
