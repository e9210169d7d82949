"""Figures of a run and of an evaluation (matplotlib, Agg backend, PNG written atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from weldfusion.tools.outputs import save_figure  # noqa: E402


def _save(fig, path: str | os.PathLike) -> Path:
    return save_figure(fig, path, dpi=110, bbox_inches="tight")


def _series(history: list[dict], key: str) -> list[float]:
    return [float("nan") if h.get(key) is None else float(h[key]) for h in history]


def plot_curves(history: list[dict], path: str | os.PathLike) -> Path:
    """Loss (train/val), validation F1 scores and learning rate per epoch from ``metrics.jsonl`` rows."""
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    ax.plot(ep, _series(history, "train_loss"), "o-", label="train")
    if any("val_loss" in h for h in history):
        ax.plot(ep, _series(history, "val_loss"), "o-", label="validation")
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    ax.legend()
    ax = axes[1]
    for key, label in (("val_phase_macro_f1", "phase macro-F1"), ("val_defect_mean_f1", "defect mean F1"),
                       ("val_score", "monitor score")):
        if any(key in h for h in history):
            ax.plot(ep, _series(history, key), "o-", label=label)
    ax.set(xlabel="epoch", ylabel="validation", title="validation", ylim=(0, 1.02))
    ax.legend()
    ax = axes[2]
    ax.plot(ep, _series(history, "lr"), "o-")
    ax.set(xlabel="epoch", ylabel="learning rate (end of epoch)", title="schedule")
    for a in axes:
        a.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion(matrix: list[list[int]] | np.ndarray, names: list[str], path: str | os.PathLike,
                   title: str = "phase confusion (rows: true, columns: predicted)") -> Path:
    """Row-normalised confusion matrix with counts in the cells."""
    cm = np.asarray(matrix, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(names), 0.8 + 0.8 * len(names)))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set(title=title)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of true class")
    fig.tight_layout()
    return _save(fig, path)


def plot_reliability(cal: dict, path: str | os.PathLike, title: str = "phase reliability") -> Path:
    """Reliability diagram from :func:`weldfusion.tools.training.metrics.calibration` output."""
    bins = cal["bins"]
    centers = [(b["lo"] + b["hi"]) / 2 for b in bins]
    width = bins[0]["hi"] - bins[0]["lo"]
    acc = [b["accuracy"] if b["accuracy"] is not None else 0.0 for b in bins]
    counts = np.array([b["count"] for b in bins], dtype=np.float64)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(4.8, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.bar(centers, acc, width=width * 0.95, edgecolor="k", label="accuracy")
    ax.plot([0, 1], [0, 1], "r--", label="perfect calibration")
    ax.set(ylabel="accuracy", title=f"{title} (ECE {cal['ece']:.3f})", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    ax2.bar(centers, counts / max(counts.sum(), 1), width=width * 0.95, color="grey")
    ax2.set(xlabel="confidence", ylabel="share")
    fig.tight_layout()
    return _save(fig, path)
