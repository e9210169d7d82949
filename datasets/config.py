"""Typed configuration of the windowed dataset (the ``data:`` section of a recipe).

The per-modality window settings are declared by each sensor (``sensors/<name>/window.py``).
Only builders read this tree (:meth:`weldfusion.datasets.windows.WindowDataset.from_config`,
:func:`weldfusion.datasets.splits.build_splits`); the dataset itself takes plain arguments
derived from it. Defaults are the demo defaults: 0.4 s windows every 0.2 s, video 16 frames of
64x64, thermal 8 frames of 40x64, acoustic 6400 samples, electrical 800 samples.

A window of ``window_s`` seconds starting at ``t0`` holds ``length`` samples per modality;
sample ``k`` sits at ``t0 + k * window_s / length`` (see :mod:`weldfusion.datasets.resample`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass

from weldfusion.recipes.taxonomy import (
    DEFAULT_DEFECTS,
    DEFAULT_PHASES,
    MATERIAL_PAIRS,
    Taxonomy,
)
from weldfusion.sensors.registry import modality_names, window_config


def _window_modalities() -> type:
    """The ``data.modalities`` section: one field per declared sensor, typed by the window config
    class that sensor declares (``sensors/<name>/window.py``), defaulting to that class's defaults.

    A modality's tensor and presence-mask column exist iff its entry is not ``None`` (``video: null``
    in YAML removes it from the data; ``emission: {}`` adds the acoustic-emission sensor, which is
    not in the default data); ``enabled: false`` keeps the column but masks it absent.
    """
    fields = []
    for name in modality_names():
        cls = window_config(name)
        # a sensor whose window class says IN_DEFAULT_DATA = False (acoustic emission) is in a
        # recipe's data only when the recipe names it
        default = field(default_factory=cls) if getattr(cls, "IN_DEFAULT_DATA", True) else field(default=None)
        fields.append((name, cls | None, default))
    cls = make_dataclass("WindowModalities", fields)
    cls.__module__ = __name__
    cls.__doc__ = _window_modalities.__doc__
    return cls


#: Per-modality window settings, in canonical modality order (see :func:`_window_modalities`).
WindowModalities = _window_modalities()


@dataclass
class FilterConfig:
    """Keep only recordings of these material pairs / processes (``None`` = all)."""

    pairs: list[str] | None = None
    processes: list[str] | None = None


@dataclass
class SplitConfig:
    """Shares of recordings (not windows) per split; stratified by material pair; ``seed`` fixes it."""

    train: float = 0.7
    val: float = 0.15
    test: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        shares = (self.train, self.val, self.test)
        if min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-6:
            raise ValueError(f"split shares must be >= 0 and sum to 1, got {shares}")
        if self.train <= 0:
            raise ValueError("split train share must be > 0")


@dataclass
class DataConfig:
    """Windowed dataset configuration.

    Attributes:
        path: recordings (directory, glob, split-list file or one .h5 file); builders may pass files instead.
        window_s, hop_s: window length and hop in seconds.
        gap_threshold: a modality is masked absent when more than this share of the window lies in
            a gap or outside its stream.
        defect_overlap_threshold: defect ``d`` is positive when one of its intervals overlaps the
            window by at least this share of ``min(window_s, interval length)`` (so a short defect
            lying mostly inside a window counts), or all its intervals together cover at least this
            share of the window.
        pairs: material-pair vocabulary; the ``pair`` tensor indexes it.
        phases, defects: label taxonomy (class order of the ``phase`` / ``defects`` tensors).
        norm_max_windows: at most this many training windows (evenly spread) feed the normalisation stats.
        preload: read every stream into memory once (small data sets, the benchmark's ceiling).
        cache_windows: keep every assembled, normalised window in memory after its first read, so
            later epochs skip the resampling (small data sets: about 0.4 MB per demo window; the
            items are identical, since assembling a window draws no random numbers).
        localisation: image modalities whose windows carry the recording's box and motion truth
            (``<m>_boxes`` (T, max_boxes, 5), ``<m>_motion`` (T, H, W), ``datasets/localisation_truth.py``):
            the targets of the localisation heads (``model.localisation``); recordings without
            truth give empty targets, flagged by ``<m>_has_boxes`` / ``<m>_has_motion``.
        max_boxes: most target boxes per window frame (the largest kept; only spatter has more).
    """

    path: str | None = None
    window_s: float = 0.4
    hop_s: float = 0.2
    gap_threshold: float = 0.2
    defect_overlap_threshold: float = 0.3
    modalities: WindowModalities = field(default_factory=WindowModalities)
    pairs: list[str] = field(default_factory=lambda: list(MATERIAL_PAIRS))
    phases: list[str] = field(default_factory=lambda: list(DEFAULT_PHASES))
    defects: list[str] = field(default_factory=lambda: list(DEFAULT_DEFECTS))
    filter: FilterConfig = field(default_factory=FilterConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    norm_max_windows: int = 2048
    preload: bool = False
    cache_windows: bool = False
    localisation: tuple[str, ...] = ()
    max_boxes: int = 16

    def __post_init__(self) -> None:
        if not self.window_s > 0 or not self.hop_s > 0:
            raise ValueError(f"window_s and hop_s must be > 0, got {self.window_s}, {self.hop_s}")
        for key in ("gap_threshold", "defect_overlap_threshold"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be in [0, 1], got {value}")
        if not self.pairs or len(set(self.pairs)) != len(self.pairs):
            raise ValueError(f"pairs must be a non-empty list without duplicates, got {self.pairs}")
        if self.norm_max_windows < 1:
            raise ValueError(f"norm_max_windows must be >= 1, got {self.norm_max_windows}")
        if self.max_boxes < 1:
            raise ValueError(f"max_boxes must be >= 1, got {self.max_boxes}")

    @property
    def taxonomy(self) -> Taxonomy:
        return Taxonomy(tuple(self.phases), tuple(self.defects))
