"""Data of a training run: train/val/test window datasets, normalisation statistics, class weights.

Built from the ``data`` section of a recipe (:class:`~weldfusion.datasets.config.DataConfig`):
recordings are split by recording (:func:`~weldfusion.datasets.splits.build_splits`), the
normalisation statistics are computed on the training split only (or reused from a run), and
every split is wrapped so that it only yields windows that have a phase label (windows that no
phase interval overlaps carry ``IGNORE_PHASE`` and are left out of training and of the metrics).
With ``train.label_fraction`` < 1 only a nested, seeded subset of the training split keeps its
labels (:func:`label_fraction_indices`, :meth:`DataBundle.with_label_fraction`): few-label
fine-tuning and the transfer tool.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset, Subset
from weldfusion.datasets.config import DataConfig
from weldfusion.datasets.info import DataInfo
from weldfusion.datasets.normalize import NormStats
from weldfusion.datasets.splits import build_splits, resolve_files, scan
from weldfusion.datasets.windows import IGNORE_PHASE, WindowDataset, build_datasets, training_norm
from weldfusion.recipes.errors import InvalidInput

SPLITS = ("train", "val", "test")


@dataclass
class DataBundle:
    """Datasets of one run (``None`` for an empty split) and what was derived from the training split."""

    datasets: dict[str, Dataset | None]
    windows: dict[str, WindowDataset | None]  # the unfiltered WindowDatasets behind ``datasets``
    files: dict[str, list[Path]]
    info: DataInfo
    norm: NormStats
    selected: dict[str, np.ndarray] = field(default_factory=dict)  # window indices kept per split (label fraction)

    @property
    def train(self) -> Dataset:
        return self.datasets["train"]

    @property
    def val(self) -> Dataset | None:
        return self.datasets.get("val")

    @property
    def test(self) -> Dataset | None:
        return self.datasets.get("test")

    def targets(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(phase (N,), defects (N, D)) of the labelled windows of ``split``, in item order."""
        ds = self.windows[split]
        keep = self.selected[split] if split in self.selected else labelled_indices(ds)
        return ds.phase_targets[keep], ds.defect_targets[keep]

    def with_label_fraction(self, fraction: float, unit: str = "recordings", seed: int = 0) -> DataBundle:
        """This bundle with the training split cut to a ``fraction`` of its labelled data.

        See :func:`label_fraction_indices`; ``files["train_labelled"]`` lists the recordings that keep labels.
        """
        ds = self.windows["train"]
        keep = label_fraction_indices(ds, fraction, unit, seed)
        rec_of = np.array([rid for rid, _ in ds.window_index], dtype=object)
        chosen = set(rec_of[keep].tolist())
        files = dict(self.files)
        files["train_labelled"] = [e.path for e in scan(self.files["train"]) if e.recording_id in chosen]
        return replace(self, datasets={**self.datasets, "train": Subset(ds, keep.tolist())}, files=files,
                       selected={**self.selected, "train": keep})


def labelled_indices(ds: WindowDataset) -> np.ndarray:
    """Indices of the windows of ``ds`` that have a phase label and at least one present sensor.

    A window whose enabled sensors are all missing or in gaps (possible when the recipe disables
    some modalities) carries nothing to learn from or to score.
    """
    return np.flatnonzero((ds.phase_targets != IGNORE_PHASE) & ds.presence.any(axis=1))


def labelled(ds: WindowDataset) -> Dataset:
    """``ds`` restricted to :func:`labelled_indices` (``ds`` itself when that is every window)."""
    keep = labelled_indices(ds)
    return ds if len(keep) == len(ds) else Subset(ds, keep.tolist())


def label_fraction_indices(ds: WindowDataset, fraction: float, unit: str = "recordings",
                           seed: int = 0) -> np.ndarray:
    """Sorted indices (K,) of the labelled windows of ``ds`` kept when only ``fraction`` of the labels is used.

    ``unit="recordings"``: the first ``max(1, round(fraction * n))`` of the n recordings that have
    labelled windows, in an order drawn with ``seed`` (all their labelled windows are kept);
    ``unit="windows"``: the first ``max(1, round(fraction * n))`` of the n labelled windows in a
    seeded order. The order depends on ``seed`` and the data only, so a smaller fraction is a subset
    of a larger one (nested) and the same call always gives the same subset.
    """
    if not 0.0 < fraction <= 1.0:
        raise InvalidInput(f"label fraction must be in (0, 1], got {fraction}")
    if unit not in ("recordings", "windows"):
        raise InvalidInput(f"label fraction unit must be recordings or windows, got {unit!r}")
    keep = labelled_indices(ds)
    if fraction >= 1.0 or len(keep) == 0:
        return keep
    rng = np.random.default_rng(seed)
    if unit == "windows":
        n = max(1, math.floor(fraction * len(keep) + 0.5))
        return np.sort(keep[rng.permutation(len(keep))[:n]])
    rec_of = np.array([rid for rid, _ in ds.window_index], dtype=object)[keep]
    ids = sorted(set(rec_of.tolist()))
    n = max(1, math.floor(fraction * len(ids) + 0.5))
    chosen = [ids[i] for i in rng.permutation(len(ids))[:n]]
    return keep[np.isin(rec_of, chosen)]


def class_weights(phase: np.ndarray, defects: np.ndarray, n_phases: int, mode: str,
                  max_weight: float) -> tuple[list[float] | None, list[float] | None]:
    """Phase cross-entropy class weights (P,) and defect BCE positive weights (D,) from training labels.

    ``inverse``: phase weight ∝ 1 / frequency, defect positive weight = negatives / positives;
    ``sqrt_inverse``: their square roots; ``none``: (None, None). Phase weights are normalised to a
    frequency-weighted mean of 1 (the loss scale stays that of unweighted cross-entropy); all weights
    are clipped to ``[1 / max_weight, max_weight]`` (positive weights to ``[1, max_weight]``). A class
    absent from the training labels gets weight 1.
    """
    if mode == "none":
        return None, None
    power = {"inverse": 1.0, "sqrt_inverse": 0.5}.get(mode)
    if power is None:
        raise InvalidInput(f"class weighting must be none, inverse or sqrt_inverse, got {mode!r}")
    phase = phase[phase != IGNORE_PHASE]
    counts = np.bincount(phase, minlength=n_phases).astype(np.float64)
    freq = counts / max(counts.sum(), 1.0)
    w = np.ones(n_phases)
    seen = counts > 0
    w[seen] = freq[seen] ** -power
    w[seen] /= float((freq[seen] * w[seen]).sum())
    w = np.clip(w, 1.0 / max_weight, max_weight)
    w[~seen] = 1.0
    pos = defects.sum(axis=0).astype(np.float64)
    neg = defects.shape[0] - pos
    pw = np.where(pos > 0, (neg / np.maximum(pos, 1.0)) ** power, 1.0)
    pw = np.clip(pw, 1.0, max_weight)
    return [round(float(x), 4) for x in w], [round(float(x), 4) for x in pw]


def split_files(cfg: DataConfig, spec: str | os.PathLike | Sequence | None = None,
                split: str | None = None) -> dict[str, list[Path]]:
    """Recording files per split (``build_splits``); ``split="all"`` puts every file matched by ``spec`` in "all"."""
    if split == "all":
        return {"all": resolve_files(spec if spec is not None else cfg.path)}
    return build_splits(cfg, spec)


def build_data(cfg: DataConfig, *, spec: str | os.PathLike | Sequence | None = None, norm: NormStats | None = None,
               splits: Sequence[str] = SPLITS, progress: bool = True) -> DataBundle:
    """Window datasets of ``splits`` over ``spec`` (default ``cfg.path``), normalised with ``norm``.

    ``norm=None`` computes the statistics on the training split (which must then be requested and
    non-empty). A split without recordings is ``None``. ``splits=("all",)`` uses every recording.
    """
    files = split_files(cfg, spec, "all" if tuple(splits) == ("all",) else None)
    if norm is None:
        norm = training_norm(cfg, files.get("train"), progress, where=str(spec or cfg.path))
    built, norm = build_datasets(cfg, {name: files.get(name) for name in splits}, norm, progress)
    windows: dict[str, WindowDataset | None] = {name: built.get(name) for name in splits}
    datasets = {k: (labelled(v) if v is not None else None) for k, v in windows.items()}
    present = [v for v in windows.values() if v is not None]
    if not present:
        raise InvalidInput(f"{spec or cfg.path}: none of the {sum(len(v) for v in files.values())} recordings falls "
                           f"in the {', '.join(splits)} split (pass --split all to use every one)")
    info = present[0].info
    return DataBundle(datasets, windows, {k: list(v) for k, v in files.items()}, info, norm)
