"""Typed config of the training loop and of evaluation (sections ``train:`` and ``eval:`` of a recipe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Monitor = Literal["phase_macro_f1", "defect_mean_f1", "combined"]


@dataclass
class RateJitterConfig:
    """Training windows as slower sensors would deliver them (``train.rate_jitter``; see
    :mod:`weldfusion.tools.training.augment`).

    Attributes:
        prob: chance per window and modality of being jittered (0 = off).
        min_factor: lowest rate factor, relative to the window's own rate (0 < f <= 1): the factor
            is drawn uniformly from ``[min_factor, 1]``.
        modalities: the jittered modalities; ``None`` = all in the data.
    """

    prob: float = 0.0
    min_factor: float = 0.4
    modalities: list[str] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"train.rate_jitter.prob must be in [0, 1], got {self.prob}")
        if not 0.0 < self.min_factor <= 1.0:
            raise ValueError(f"train.rate_jitter.min_factor must be in (0, 1], got {self.min_factor}")


@dataclass
class TrainConfig:
    """How to train.

    Attributes:
        epochs: maximum number of passes over the training windows.
        batch_size: GLOBAL batch (split evenly over DDP ranks; must be divisible by the world size).
        lr: peak AdamW learning rate, reached after the warm-up.
        weight_decay: decoupled AdamW weight decay on weight matrices/kernels (not biases/norms).
        betas: AdamW betas.
        warmup_epochs: linear warm-up length in epochs (fractions allowed); then cosine decay per step.
        min_lr_ratio: final learning rate as a fraction of ``lr``.
        grad_clip: max global gradient L2 norm (0 disables clipping).
        amp: float16 autocast + GradScaler on CUDA (ignored on CPU, which trains in float32).
        monitor: early-stopping / best-checkpoint score on validation: ``phase_macro_f1``,
            ``defect_mean_f1`` (at per-class thresholds tuned on validation) or ``combined`` (their mean).
        patience: stop after this many epochs without improvement of ``monitor`` by ``min_delta`` (0 = never).
        min_delta: smallest improvement that resets the patience counter.
        class_weighting: phase class weights and defect positive weights from the training labels:
            ``none``, ``inverse`` (frequency^-1) or ``sqrt_inverse`` (frequency^-1/2); normalised to mean 1
            and clipped to ``max_class_weight``.
        max_class_weight: upper clip of any class weight.
        num_workers: DataLoader worker processes per rank.
        checkpoint_every_steps: also write ``last.pt`` every this many optimiser steps inside an epoch
            (0 = only at epoch ends); a resumed run restarts from the exact batch.
        device: ``auto`` (cuda when available), ``cpu`` or ``cuda``.
        sync_batchnorm: with DDP on CUDA, batch-norm statistics over the global batch (SyncBatchNorm);
            on CPU each rank normalises with its own share of the batch.
        freeze_batchnorm: keep batch-norm layers on their running statistics while training (affine
            parameters still learn): for fine-tuning on little data, and makes DDP on CPU match one process.
        init_from: checkpoint (or run folder -> its best.pt) whose weights initialise the model before
            training (fine-tuning / transfer); parameters whose name or shape differ keep their fresh init.
        label_fraction: train on this share of the training split's labelled data only (few-label
            fine-tuning / transfer); the other training recordings stay unlabelled: they still feed
            the normalisation statistics but no loss term. 1.0 = all labels.
        label_fraction_unit: ``recordings`` (whole recordings: ``max(1, round(f * n))`` of the n
            training recordings) or ``windows`` (``max(1, round(f * n))`` labelled windows).
        label_fraction_seed: seed of the permutation whose prefix is kept, so that a smaller fraction
            is always a subset of a larger one (nested) and the choice is reproducible.
        rate_jitter: rate-jitter augmentation of the training windows (off by default).
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.02
    grad_clip: float = 1.0
    amp: bool = True
    monitor: Monitor = "combined"
    patience: int = 6
    min_delta: float = 1e-4
    class_weighting: Literal["none", "inverse", "sqrt_inverse"] = "sqrt_inverse"
    max_class_weight: float = 10.0
    num_workers: int = 0
    checkpoint_every_steps: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    sync_batchnorm: bool = True
    freeze_batchnorm: bool = False
    init_from: str | None = None
    label_fraction: float = 1.0
    label_fraction_unit: Literal["recordings", "windows"] = "recordings"
    label_fraction_seed: int = 0
    rate_jitter: RateJitterConfig = field(default_factory=RateJitterConfig)

    def __post_init__(self) -> None:
        if not 0.0 < self.label_fraction <= 1.0:
            raise ValueError(f"train.label_fraction must be in (0, 1], got {self.label_fraction}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_epochs", "grad_clip", "weight_decay", "min_delta", "patience", "num_workers",
                     "checkpoint_every_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.max_class_weight < 1:
            raise ValueError(f"train.max_class_weight must be >= 1, got {self.max_class_weight}")


@dataclass
class EvalConfig:
    """How ``evaluate`` measures a checkpoint.

    Attributes:
        batch_size: windows per forward pass for the metrics.
        split: which recordings of ``--data`` to score, using the recipe's split-by-recording:
            ``test`` (held out), ``val``, ``train`` or ``all`` (every recording, e.g. new data).
        ece_bins: equal-width confidence bins of the expected calibration error / reliability diagram.
        latency_windows: single-window (batch 1) forward passes timed for ``latency.ms_per_window``.
    """

    batch_size: int = 64
    split: Literal["test", "val", "train", "all"] = "test"
    ece_bins: int = 15
    latency_windows: int = 30

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.ece_bins < 1 or self.latency_windows < 1:
            raise ValueError("eval.batch_size, eval.ece_bins and eval.latency_windows must be >= 1")
