"""Typed configuration of the model (:class:`ModelConfig`) and of its loss (:class:`LossConfig`).

Only :mod:`weldfusion.fusion.build` reads these; every module takes plain arguments. Every
MS-STAN component of He, Jin & Zou (2025) can be switched off here, so that ``ablate`` can
remove one at a time (:data:`COMPONENTS`, :func:`disable_component`).

The YAML recipe keys are the field names, e.g.::

    model:
      dim: 64
      fusion: attention
      video: {adaptive_sampling: true, keep_ratio: 0.5}
      thermal: {motion_magnification: false}
    loss:
      contrastive: true
      weights: {phase: 1.0, contrastive: 0.1}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from weldfusion.fusion.baselines.config import BASELINE_ARCHS, BaselinesConfig
from weldfusion.recipes.config import ConfigError


@dataclass
class MSSTANConfig:
    """MS-STAN encoder for image sequences (video and thermal), paper Sections 3.3-3.4.

    Attributes:
        patch_size: side of the square patches of the patch embedding (pixels).
        stage_dims: channels of the conv + batch-norm stages after the patch embedding; the last
            one is the feature size ``d`` of the spatial maps f_t (B, T, h, w, d).
        stage_strides: spatial stride of each stage (same length as ``stage_dims``).
        temporal_scales: temporal window sizes tau_1..tau_k (odd frame counts), Eq. 9-10.
        multiscale_temporal: several temporal scales fused by attention (Eq. 9-12); off = one
            scale (the largest of ``temporal_scales``), still with LayerNorm + residual (Eq. 12).
        separable_temporal: depthwise-separable temporal convolution (Eq. 43, L1 term Eq. 44);
            off = full 3-D convolution over (tau, 3, 3) (Eq. 11).
        spatial_attention: learned spatial attention (Eq. 13, 14, 17); off = spatial mean.
        temporal_attention: learned temporal attention (Eq. 15, 16, 18); off = mean over frames.
        occlusion_mask: occlusion-aware mask + sparsity term (Eq. 26-28).
        background_suppression: background subtraction + reconstruction term (Eq. 29-31).
        motion_magnification: learnable gamma on normalised frame differences (Eq. 33-35).
        adaptive_sampling: per-frame importance scores (Eq. 40), smoothness term (Eq. 42); at
            inference only the ``keep_ratio`` share of frames with the highest scores goes
            through the conv stages and everything after them (Eq. 41).
        keep_ratio: share of frames kept at inference by adaptive sampling, in (0, 1].
        knowledge_guidance: process parameters (heat input, current, travel speed) and a
            material-pair embedding give a prior added to the spatial attention (Eq. 45-46).
        pair_embed_dim: size of the material-pair embedding of the knowledge prior.
        gradient_channel: add the Sobel gradient magnitude of each frame as a second input
            channel (useful for temperature maps: cooling gradients at the fusion line).
        spatial_peak: add a projection of the spatial maximum of f_t to the attended frame
            vector (our addition, not in the paper; ``fusion/msstan/spatial_attention.py``).
        motion_gamma: ``scalar`` (one learnable gamma, Eq. 33) or ``channel`` (one per feature
            channel, our variant: static patterns keep channels free of the arc's flicker;
            ``fusion/msstan/motion.py``).
        motion_gamma_init: start value of gamma (0 = motion magnification starts as the identity).
    """

    patch_size: int = 2
    stage_dims: tuple[int, ...] = (16, 16, 32, 48)
    stage_strides: tuple[int, ...] = (1, 1, 2, 2)
    temporal_scales: tuple[int, ...] = (1, 3, 5)
    multiscale_temporal: bool = True
    separable_temporal: bool = True
    spatial_attention: bool = True
    temporal_attention: bool = True
    occlusion_mask: bool = True
    background_suppression: bool = True
    motion_magnification: bool = True
    adaptive_sampling: bool = True
    keep_ratio: float = 0.5
    knowledge_guidance: bool = True
    pair_embed_dim: int = 8
    gradient_channel: bool = False
    spatial_peak: bool = True
    motion_gamma: Literal["scalar", "channel"] = "scalar"
    motion_gamma_init: float = 0.5

    def __post_init__(self) -> None:
        if self.patch_size < 1:
            raise ValueError(f"patch_size must be >= 1, got {self.patch_size}")
        if not self.stage_dims or len(self.stage_dims) != len(self.stage_strides):
            raise ValueError("stage_dims and stage_strides must be non-empty and of equal length")
        if any(d < 1 for d in self.stage_dims) or any(s < 1 for s in self.stage_strides):
            raise ValueError("stage_dims and stage_strides must be positive")
        if not self.temporal_scales or any(t < 1 or t % 2 == 0 for t in self.temporal_scales):
            raise ValueError(f"temporal_scales must be odd positive frame counts, got {list(self.temporal_scales)}")
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ValueError(f"keep_ratio must be in (0, 1], got {self.keep_ratio}")


def _thermal_default() -> MSSTANConfig:
    # 8 frames at 50 Hz in a window: few, each informative -> no frame sampling, short scales.
    return MSSTANConfig(patch_size=4, stage_dims=(16, 32), stage_strides=(1, 2), temporal_scales=(1, 3),
                        adaptive_sampling=False, gradient_channel=True)


@dataclass
class AcousticEncoderConfig:
    """Acoustic encoder: log-mel front end for microphones, band-limited path for ``ae*`` channels.

    Attributes:
        n_mels: mel bands of the microphone path.
        hop_ms, win_ms: hop and window of the short-time transforms (milliseconds).
        f_max_hz: top of the mel filter bank (clipped to the Nyquist frequency of the data).
        ae_band_fraction: (low, high) band of the acoustic-emission path as fractions of Nyquist.
        ae_bands: number of log-spaced sub-bands whose log-energy envelopes the AE path keeps.
        conv_dim: channels of the convolutional/temporal encoder.
        layers: residual dilated temporal conv blocks.
    """

    n_mels: int = 32
    hop_ms: float = 10.0
    win_ms: float = 25.0
    f_max_hz: float = 8000.0
    ae_band_fraction: tuple[float, float] = (0.25, 1.0)
    ae_bands: int = 16
    conv_dim: int = 48
    layers: int = 2

    def __post_init__(self) -> None:
        lo, hi = self.ae_band_fraction
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"ae_band_fraction must satisfy 0 <= low < high <= 1, got {list(self.ae_band_fraction)}")
        if self.hop_ms <= 0 or self.win_ms <= 0 or self.n_mels < 1 or self.ae_bands < 1:
            raise ValueError("hop_ms, win_ms, n_mels and ae_bands must be positive")


@dataclass
class ElectricalEncoderConfig:
    """Electrical encoder: multi-scale 1-D convolutions + short-circuit statistics.

    Attributes:
        conv_dim: channels of the 1-D convolutions.
        stem_stride: temporal stride of the first convolution (samples).
        kernel_sizes: kernel sizes (in stem steps) of the parallel multi-scale branches.
        token_ms: duration covered by one output token (milliseconds).
        trend_snr: the summary token also gets the size of each channel's linear trend divided by the
            standard deviation of its residual around the fitted line (a scale-free ramp
            detector: a programmed set-point ramp on a quiet channel stands out however small it is
            in dataset units; ``sensors/electrical/encoder.py``).
    """

    conv_dim: int = 32
    stem_stride: int = 4
    kernel_sizes: tuple[int, ...] = (3, 9, 27)
    token_ms: float = 20.0
    trend_snr: bool = True

    def __post_init__(self) -> None:
        if not self.kernel_sizes or any(k < 1 or k % 2 == 0 for k in self.kernel_sizes):
            raise ValueError(f"kernel_sizes must be odd positive, got {list(self.kernel_sizes)}")
        if self.stem_stride < 1 or self.token_ms <= 0:
            raise ValueError("stem_stride and token_ms must be positive")


@dataclass
class LocalisationConfig:
    """Localisation heads on the MS-STAN maps of one image modality (issue 15; ``fusion/detection/``,
    ``fusion/motion_segmentation.py``). Their targets come with the windows of ``data.localisation``.

    Attributes:
        detection: a DETR-style box head: ``queries`` learned queries, a ``decoder_layers``-layer
            transformer decoder over the frame's feature maps, a class (the box classes of
            ``sensors/boxes.py`` + "no object") and a box (cx, cy, w, h) per query, per kept frame
            (the truth is per frame and spatter, droplets and the weaving torch move within a
            window); Hungarian matching, loss terms ``det_class``, ``det_l1``, ``det_giou``.
        motion: a motion-segmentation head (what moved since the previous frame), loss term
            ``motion``; auxiliary: run in training only unless ``motion_at_inference``.
        modality: the image modality the heads sit on.
        queries, decoder_layers, decoder_heads, head_dim: size of the box head.
        seeded_queries: further queries per frame seeded from the best-scoring memory tokens (two-stage
            query selection, ``fusion/detection/head.py``; loss terms ``det_seed_class``, ``det_seed_l1``,
            ``det_seed_giou``); 0: learned queries only.
        no_object_weight: weight of the "no object" class in the class cross-entropy.
        match_class, match_l1, match_giou: weights of the matching cost.
        pixel_level: give both heads a fine feature level from the kept frames themselves (two
            stride-2 convolutions, ``fusion/localisation.py``): MS-STAN's 8 px patches of the demo
            recipe are coarser than a pore or a spatter particle.
    """

    detection: bool = False
    motion: bool = False
    modality: str = "video"
    queries: int = 16
    decoder_layers: int = 2
    decoder_heads: int = 4
    head_dim: int = 64
    seeded_queries: int = 0
    no_object_weight: float = 0.1
    match_class: float = 1.0
    match_l1: float = 5.0
    match_giou: float = 2.0
    motion_at_inference: bool = False
    pixel_level: bool = True

    def __post_init__(self) -> None:
        if self.seeded_queries < 0:
            raise ValueError(f"seeded_queries must be >= 0, got {self.seeded_queries}")
        if self.queries < 1 or self.decoder_layers < 1:
            raise ValueError(f"queries and decoder_layers must be >= 1, got {self.queries}, {self.decoder_layers}")
        if self.head_dim < 1 or self.head_dim % self.decoder_heads:
            raise ValueError(f"head_dim ({self.head_dim}) must be a positive multiple of decoder_heads ({self.decoder_heads})")
        if not 0.0 < self.no_object_weight <= 1.0:
            raise ValueError(f"no_object_weight must be in (0, 1], got {self.no_object_weight}")

    @property
    def enabled(self) -> bool:
        return self.detection or self.motion


@dataclass
class ModelConfig:
    """The whole network: one encoder per modality, a fusion, and heads.

    Attributes:
        arch: ``msstan`` (this fusion model) or a comparison network of ``fusion/baselines/``
            (``r2plus1d18``, ``cnn_lstm``, ``transformer``; settings in ``baselines``).
        dim: token / embedding size ``D`` shared by all encoders and the fusion.
        fusion: ``attention`` (modality-attention fusion), ``late`` (average of per-modality
            heads) or ``concat`` (concatenated pooled features + MLP).
        fusion_layers, fusion_heads: transformer blocks and heads of the attention fusion.
        modality_dropout: in training, probability of dropping each present modality of a
            sample (at least one is always kept).
        head_dropout: dropout on the fused embedding before the heads (Eq. 23).
        projection_dim: output size of the projection head of the contrastive loss (Eq. 39).
        modality_heads: a phase + defect head on every encoder's pooled vector, trained with the
            loss term ``modality`` (deep supervision, ``fusion/modality_heads.py``; not in the
            paper), so that no encoder is left idle by the fusion.
        skip_absent: run an encoder only on the samples where its modality is present (faster,
            and absent inputs never touch batch-norm statistics); off = run on the whole batch and
            mask afterwards (static shapes, e.g. for export).
        video, thermal: MS-STAN settings of the two image encoders.
        acoustic, electrical: settings of the signal encoders.
        other: settings of encoders of sensors added later, by modality name (the keys of the
            config class declared in ``sensors/<name>/encoder.py``).
        baselines: settings of the comparison networks (read only when ``arch`` names one).
        localisation: the box and motion heads (:class:`LocalisationConfig`), off by default.
    """

    arch: Literal["msstan", "r2plus1d18", "cnn_lstm", "transformer"] = "msstan"
    dim: int = 64
    fusion: Literal["attention", "late", "concat"] = "attention"
    fusion_layers: int = 1
    fusion_heads: int = 4
    modality_dropout: float = 0.15
    head_dropout: float = 0.1
    projection_dim: int = 32
    modality_heads: bool = True
    skip_absent: bool = True
    video: MSSTANConfig = field(default_factory=MSSTANConfig)
    thermal: MSSTANConfig = field(default_factory=_thermal_default)
    acoustic: AcousticEncoderConfig = field(default_factory=AcousticEncoderConfig)
    electrical: ElectricalEncoderConfig = field(default_factory=ElectricalEncoderConfig)
    other: dict[str, dict] = field(default_factory=dict)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    localisation: LocalisationConfig = field(default_factory=LocalisationConfig)

    def __post_init__(self) -> None:
        if self.arch != "msstan" and self.localisation.enabled:
            raise ValueError(f"model.localisation: the heads sit on MS-STAN maps; arch {self.arch!r} has none")
        if self.arch != "msstan" and self.arch not in BASELINE_ARCHS:
            raise ValueError(f"arch must be msstan or one of {', '.join(BASELINE_ARCHS)}, got {self.arch!r}")
        if self.dim < 1 or self.dim % self.fusion_heads:
            raise ValueError(f"dim ({self.dim}) must be a positive multiple of fusion_heads ({self.fusion_heads})")
        if not 0.0 <= self.modality_dropout < 1.0:
            raise ValueError(f"modality_dropout must be in [0, 1), got {self.modality_dropout}")
        if not 0.0 <= self.head_dropout < 1.0:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout}")


DEFAULT_SEMANTIC_PAIRS: tuple[tuple[str, str, float], ...] = (
    # arc-on steady states resemble each other; the two arc transients resemble each other.
    ("deposition", "weaving", 0.5),
    ("deposition", "parameter_change", 0.5),
    ("weaving", "parameter_change", 0.3),
    ("arc_start", "arc_end", 0.3),
)


@dataclass
class LossWeights:
    """Weight of each named loss term in ``total`` (raw terms are reported unweighted)."""

    phase: float = 1.0
    defect: float = 1.0
    contrastive: float = 0.1
    semantic: float = 0.05
    temporal_consistency: float = 0.01
    sepconv_l1: float = 1.0e-3
    occlusion: float = 0.01
    reconstruction: float = 0.1
    smoothness: float = 0.01
    modality: float = 0.5
    det_class: float = 0.5  # the box terms at half DETR's 1 : 5 : 2, next to the recognition terms
    det_l1: float = 2.5
    det_giou: float = 1.0
    det_seed_class: float = 1.0  # seeded queries' token scores (focal) and proposals, at the scale of the set terms
    det_seed_l1: float = 2.5
    det_seed_giou: float = 1.0
    motion: float = 0.5


@dataclass
class LossConfig:
    """Training objective (``fusion/losses.py``).

    Attributes:
        weights: weight of each term in the total.
        contrastive: margin contrastive loss on the projection head (Eq. 36-39).
        contrastive_margin: margin m (distance between L2-normalised projections, in [0, 2]).
        semantic_similarity: class-similarity loss (Eq. 47).
        semantic_pairs: (phase_a, phase_b, similarity) entries of the similarity matrix S.
        temporal_consistency: consistency of consecutive per-frame features (Eq. 48).
        phase_class_weights: per-phase weights of the cross-entropy (order of the taxonomy).
        defect_pos_weight: per-defect positive weights of the binary cross-entropy.
        label_smoothing: label smoothing of the phase cross-entropy.
    """

    weights: LossWeights = field(default_factory=LossWeights)
    contrastive: bool = True
    contrastive_margin: float = 1.0
    semantic_similarity: bool = True
    semantic_pairs: tuple[tuple[str, str, float], ...] = DEFAULT_SEMANTIC_PAIRS
    temporal_consistency: bool = True
    phase_class_weights: tuple[float, ...] | None = None
    defect_pos_weight: tuple[float, ...] | None = None
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.contrastive_margin <= 0:
            raise ValueError(f"contrastive_margin must be > 0, got {self.contrastive_margin}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")


# Component name -> where its switch lives: ("model", field of MSSTANConfig), ("loss", field of LossConfig)
# or ("localisation", field of LocalisationConfig).
COMPONENTS: dict[str, tuple[str, str]] = {
    "multiscale_temporal": ("model", "multiscale_temporal"),
    "separable_temporal": ("model", "separable_temporal"),
    "spatial_attention": ("model", "spatial_attention"),
    "temporal_attention": ("model", "temporal_attention"),
    "occlusion_mask": ("model", "occlusion_mask"),
    "background_suppression": ("model", "background_suppression"),
    "motion_magnification": ("model", "motion_magnification"),
    "adaptive_sampling": ("model", "adaptive_sampling"),
    "knowledge_guidance": ("model", "knowledge_guidance"),
    "spatial_peak": ("model", "spatial_peak"),
    "contrastive": ("loss", "contrastive"),
    "semantic_similarity": ("loss", "semantic_similarity"),
    "temporal_consistency": ("loss", "temporal_consistency"),
    "detection_head": ("localisation", "detection"),
    "motion_head": ("localisation", "motion"),
}


def disable_component(model: ModelConfig, loss: LossConfig, name: str) -> tuple[ModelConfig, LossConfig]:
    """Copies of the two configs with component ``name`` switched off (in every MS-STAN encoder)."""
    if name not in COMPONENTS:
        raise ConfigError(f"unknown component {name!r}; known: {', '.join(COMPONENTS)}")
    where, key = COMPONENTS[name]
    if where == "localisation":
        return dataclasses.replace(model, localisation=dataclasses.replace(model.localisation, **{key: False})), loss
    if where == "loss":
        return model, dataclasses.replace(loss, **{key: False})
    images = {f.name: dataclasses.replace(getattr(model, f.name), **{key: False})
              for f in dataclasses.fields(model) if isinstance(getattr(model, f.name), MSSTANConfig)}
    return dataclasses.replace(model, **images), loss
