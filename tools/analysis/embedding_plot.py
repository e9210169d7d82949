"""2-D projection of fused embeddings (PCA or t-SNE, scikit-learn) coloured by material pair."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from weldfusion.recipes.errors import InvalidInput

COLORS = ("#3b75af", "#ef8636", "#519e3e", "#c53a32", "#8d69b8", "#84584e")


def subsample(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` items (all when n <= max_points), seeded."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def project(embedding: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, E) embeddings -> (N, 2) coordinates by ``pca`` or ``tsne`` (standardised features first)."""

    x = np.asarray(embedding, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise InvalidInput(f"need at least 3 embeddings (N, E) to project, got shape {x.shape}")
    x = StandardScaler().fit_transform(x)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        return TSNE(n_components=2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca",
                    random_state=seed).fit_transform(x)
    raise ValueError(f"embedding method must be pca or tsne, got {method!r}")


def pair_silhouette(embedding: np.ndarray, labels: Sequence[str]) -> float | None:
    """Silhouette score of the material-pair labels on the (N, E) embeddings (None with < 2 pairs).

    Near 1: pairs form separate clusters; near 0 or below: the pairs' windows overlap (shared
    features across material combinations).
    """

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2 or len(labels) < 3:
        return None
    return float(silhouette_score(np.asarray(embedding, dtype=np.float64), labels))


def plot_embeddings(panels: Sequence[tuple[str, np.ndarray, Sequence[str]]], path: str | os.PathLike,
                    method: str = "pca", highlight: str | None = None) -> Path:
    """One scatter panel per (title, (N, 2) coordinates, N pair labels); ``highlight`` pair drawn on top."""
    pairs = sorted({p for _, _, labels in panels for p in labels})
    color = {p: COLORS[i % len(COLORS)] for i, p in enumerate(pairs)}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
    for ax, (title, xy, labels) in zip(axes[0], panels, strict=True):
        labels = np.asarray(labels)
        for p in sorted(pairs, key=lambda q: q == highlight):
            m = labels == p
            if m.any():
                ax.scatter(xy[m, 0], xy[m, 1], s=7, alpha=0.6, color=color[p],
                           label=f"{p}{' (new pair)' if p == highlight else ''} ({int(m.sum())})")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"{method.upper()} 1")
        ax.set_ylabel(f"{method.upper()} 2")
        ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
