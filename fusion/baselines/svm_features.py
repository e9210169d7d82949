"""Hand-crafted features + support vector machines (the "SVM + HOG" row of the paper's Table 5).

Features of one window (batch contract of ``datasets/info.py``, already normalised):

- image modalities (T, H, W): HOG (Dalal & Triggs 2005: [-1, 0, 1] gradients, 9 unsigned orientation
  bins with linear vote interpolation, square cells of a quarter of the shorter side, 2x2-cell
  blocks moved by one cell, L2-Hys block normalisation) of every frame, mean and standard deviation
  over the frames; intensity statistics of the clip (mean, std, 5/50/95th percentiles) and motion
  energy (mean absolute difference of consecutive frames, std of the per-frame means). This is the
  descriptor of OpenCV's ``HOGDescriptor``, which OpenCV 5 no longer ships, written out in NumPy
  and vectorised over the frames;
- signal modalities (C, S): per channel mean, std, 5/25/50/75/95th percentiles, skewness, kurtosis
  and the log energy of ``n_bands`` log-spaced bands of the Welch power spectrum (scipy.signal.welch);
- the presence flags (M), the standardised process parameters (P) and the material pair (one-hot).

A modality that is absent in a window contributes zeros. :class:`FeatureSVM` is a StandardScaler +
RBF ``SVC`` for the phase and, for the defects, one StandardScaler + binary RBF ``SVC`` per defect
class (one-vs-rest); both give Platt-scaled probabilities, so the project's metrics (thresholds
chosen on validation, AUC, calibration) apply unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import signal
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.recipes.errors import InvalidInput

SIGNAL_STATS = ("mean", "std", "p5", "p25", "p50", "p75", "p95", "skew", "kurtosis")
IMAGE_STATS = ("mean", "std", "p5", "p50", "p95", "motion", "flicker")
HOG_BINS = 9


def hog_cell(height: int, width: int) -> int:
    """Cell side (pixels) for frames of (height, width): a quarter of the shorter side, at least 2."""
    return max(2, min(height, width) // 4)


def hog_size(height: int, width: int, bins: int = HOG_BINS) -> int:
    """Length of the HOG descriptor of one (height, width) frame (see :func:`hog`)."""
    cell = hog_cell(height, width)
    rows, cols = max(height // cell, 2), max(width // cell, 2)
    return (rows - 1) * (cols - 1) * 4 * bins


def hog(frames: np.ndarray, bins: int = HOG_BINS) -> np.ndarray:
    """HOG descriptors of frames (T, H, W) float -> (T, F), F = :func:`hog_size` (H, W).

    Centred [-1, 0, 1] gradients (zero at the border), unsigned orientation in [0, 180) degrees
    voted into ``bins`` bins with linear interpolation between the two nearest bin centres,
    weighted by the gradient magnitude; cells of :func:`hog_cell` pixels (the frame is cropped to
    whole cells, centred); blocks of 2x2 cells moved by one cell, L2-Hys normalised (clip at 0.2).
    """
    t, h, w = frames.shape
    cell = hog_cell(h, w)
    rows, cols = max(h // cell, 2), max(w // cell, 2)
    x = frames.astype(np.float64)
    gx, gy = np.zeros_like(x), np.zeros_like(x)
    gx[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    gy[:, 1:-1, :] = x[:, 2:, :] - x[:, :-2, :]
    mag = np.hypot(gx, gy)  # (T, H, W)
    pos = (np.degrees(np.arctan2(gy, gx)) % 180.0) / (180.0 / bins) - 0.5  # orientation in bin units
    lo = np.floor(pos)
    frac = pos - lo
    lo = lo.astype(np.int64) % bins
    hi = (lo + 1) % bins
    top, left = max(0, (h - rows * cell) // 2), max(0, (w - cols * cell) // 2)
    crop = (slice(None), slice(top, top + rows * cell), slice(left, left + cols * cell))
    mag, frac, lo, hi = mag[crop], frac[crop], lo[crop], hi[crop]
    if mag.shape[1:] != (rows * cell, cols * cell):  # frames smaller than 2x2 cells: zero-pad
        pad = ((0, 0), (0, rows * cell - mag.shape[1]), (0, cols * cell - mag.shape[2]))
        mag, frac = np.pad(mag, pad), np.pad(frac, pad)
        lo, hi = np.pad(lo, pad), np.pad(hi, pad)
    hist = np.zeros((t, rows, cols, bins))
    for b in range(bins):
        vote = mag * ((lo == b) * (1.0 - frac) + (hi == b) * frac)  # (T, rows*cell, cols*cell)
        hist[..., b] = vote.reshape(t, rows, cell, cols, cell).sum(axis=(2, 4))
    blocks = np.concatenate([hist[:, :-1, :-1], hist[:, :-1, 1:], hist[:, 1:, :-1], hist[:, 1:, 1:]], axis=-1)
    eps = 1e-6
    blocks = blocks / np.sqrt((blocks**2).sum(axis=-1, keepdims=True) + eps**2)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks**2).sum(axis=-1, keepdims=True) + eps**2)
    return blocks.reshape(t, -1)  # (T, (rows-1)*(cols-1)*4*bins)


def band_edges(rate: float, n_bands: int, f_low: float) -> np.ndarray:
    """(n_bands + 1,) log-spaced band edges from ``f_low`` to the Nyquist frequency (Hz)."""
    nyquist = rate / 2.0
    return np.geomspace(min(f_low, nyquist / 2 ** n_bands), nyquist, n_bands + 1)


class SVMFeatures:
    """Feature extractor for windows described by ``info``.

    Args:
        info: the data declaration (modalities, rates, pairs).
        n_bands: Welch bands per signal channel.
        f_low: lowest band edge (Hz).
    """

    def __init__(self, info: DataInfo, n_bands: int = 8, f_low: float = 5.0) -> None:
        self.info = info
        self.n_bands = n_bands
        self.f_low = f_low
        self.names = self._names()

    def _names(self) -> list[str]:
        names: list[str] = []
        for m in self.info.modalities:
            if m.kind == "image":
                n = hog_size(*m.shape[1:])
                names += [f"{m.name}.hog_mean.{i}" for i in range(n)] + [f"{m.name}.hog_std.{i}" for i in range(n)]
                names += [f"{m.name}.{s}" for s in IMAGE_STATS]
            else:
                for ch in m.channel_names or [str(c) for c in range(m.shape[0])]:
                    names += [f"{m.name}.{ch}.{s}" for s in SIGNAL_STATS]
                    names += [f"{m.name}.{ch}.band{b}" for b in range(self.n_bands)]
        names += [f"present.{n}" for n in self.info.names] + [f"params.{p}" for p in self.info.params]
        names += [f"pair.{p}" for p in self.info.pairs]
        return names

    @property
    def size(self) -> int:
        """Features per window."""
        return len(self.names)

    def _image(self, x: np.ndarray) -> np.ndarray:
        """(T, H, W) normalised frames -> HOG mean/std over frames + clip statistics."""
        descs = hog(x)  # (T, F_hog)
        frame_means = x.reshape(x.shape[0], -1).mean(axis=1)  # (T,)
        motion = float(np.abs(np.diff(x, axis=0)).mean()) if x.shape[0] > 1 else 0.0
        p5, p50, p95 = np.percentile(x, (5, 50, 95))
        clip = [x.mean(), x.std(), p5, p50, p95, motion, frame_means.std()]
        return np.concatenate([descs.mean(axis=0), descs.std(axis=0), np.asarray(clip, dtype=np.float64)])

    def _signal(self, shape: ModalityShape, x: np.ndarray) -> np.ndarray:
        """(C, S) normalised signal -> per-channel statistics + Welch log band energies."""
        rate = shape.rate or shape.shape[1] / self.info.window_s
        f, pxx = signal.welch(x, fs=rate, nperseg=min(256, x.shape[1]), axis=-1)  # (F,), (C, F)
        edges = band_edges(rate, self.n_bands, self.f_low)
        band = np.clip(np.searchsorted(edges, f, side="right") - 1, 0, self.n_bands - 1)  # (F,) band of each bin
        energy = np.zeros((x.shape[0], self.n_bands))
        for b in range(self.n_bands):
            energy[:, b] = pxx[:, band == b].sum(axis=1)
        pct = np.percentile(x, (5, 25, 50, 75, 95), axis=1).T  # (C, 5)
        d = x - x.mean(axis=1, keepdims=True)
        sd = np.sqrt((d**2).mean(axis=1))  # (C,)
        flat = sd <= 1e-6 * (1.0 + np.abs(x).max(axis=1))  # skew/kurtosis undefined on a (nearly) constant channel
        z = d / np.where(flat, 1.0, sd)[:, None]
        skew = np.where(flat, 0.0, (z**3).mean(axis=1))
        kurt = np.where(flat, 0.0, (z**4).mean(axis=1) - 3.0)  # excess kurtosis
        per_channel = np.concatenate([x.mean(axis=1, keepdims=True), x.std(axis=1, keepdims=True), pct,
                                      skew[:, None], kurt[:, None], np.log10(energy + 1e-12)], axis=1)  # (C, 9 + bands)
        return per_channel.ravel()

    def window(self, item: dict) -> np.ndarray:
        """Features (F,) of one window: a batch-contract item (tensors without the batch axis)."""
        present = np.asarray(item["present"], dtype=bool)
        parts = []
        for i, m in enumerate(self.info.modalities):
            x = np.asarray(item[m.name], dtype=np.float64)
            f = self._image(x) if m.kind == "image" else self._signal(m, x)
            parts.append(f if present[i] else np.zeros_like(f))
        pair = np.zeros(len(self.info.pairs))
        pair[int(item["pair"])] = 1.0
        parts += [present.astype(np.float64), np.asarray(item["params"], dtype=np.float64), pair]
        out = np.concatenate(parts)
        if out.shape != (self.size,):
            raise ValueError(f"window gave {out.shape[0]} features, expected {self.size} (shapes differ from info)")
        return out

    def batch(self, batch: dict) -> np.ndarray:
        """Features (B, F) of a collated batch."""
        keys = [m.name for m in self.info.modalities] + ["present", "params", "pair"]
        arrays = {k: batch[k].cpu().numpy() if torch.is_tensor(batch[k]) else np.asarray(batch[k]) for k in keys}
        n = arrays["present"].shape[0]
        return np.stack([self.window({k: v[i] for k, v in arrays.items()}) for i in range(n)])


class FeatureSVM:
    """Phase SVM (multi-class RBF SVC) and one binary RBF SVC per defect class, on scaled features.

    Probabilities come from sigmoid (Platt) calibration on cross-validated decision values
    (``CalibratedClassifierCV(..., ensemble=False)``: folds = min(5, smallest class count)),
    after which each SVM is refitted on all training windows.

    Args:
        n_phases: classes of the phase task (probabilities are returned for all of them; a class
            absent from the training labels gets probability 0).
        C: SVM regularisation (both tasks).
        gamma: RBF width (scikit-learn's ``"scale"`` or a number).
        class_weight: ``"balanced"`` (inverse class frequency, as the networks' class weighting) or ``None``.
        seed: seed of the calibration folds.

    Attributes (after :meth:`fit`):
        constant_defects: defect indices with fewer than two positive (or negative) training windows;
            nothing can be learned or calibrated for them, their probability is the training frequency.
    """

    def __init__(self, n_phases: int, C: float = 10.0, gamma: str | float = "scale",
                 class_weight: str | None = "balanced", seed: int = 0) -> None:
        self.n_phases = n_phases
        self.C, self.gamma, self.class_weight, self.seed = C, gamma, class_weight, seed
        self.phase = None
        self.defects: list = []
        self.constant_defects: list[int] = []

    def _calibrated(self, counts: np.ndarray):
        folds = int(min(5, counts.min()))
        svc = SVC(kernel="rbf", C=self.C, gamma=self.gamma, class_weight=self.class_weight)
        cv = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
        return make_pipeline(StandardScaler(), CalibratedClassifierCV(svc, method="sigmoid", cv=cv, ensemble=False))

    def fit(self, x: np.ndarray, phase: np.ndarray, defects: np.ndarray) -> FeatureSVM:
        """x (N, F), phase (N,) int, defects (N, D) 0/1.

        Raises ``ValueError`` when fewer than two phase classes occur or a phase class has a single window.
        """
        classes, counts = np.unique(phase, return_counts=True)
        if len(classes) < 2:
            raise InvalidInput("the phase SVM needs at least two phase classes in the training windows")
        if counts.min() < 2:
            raise InvalidInput(f"phase class {int(classes[counts.argmin()])} has a single training window; "
                             "the SVM's probability calibration needs at least two per class")
        self.phase = self._calibrated(counts).fit(x, phase)
        self.defects, self.constant_defects = [], []
        for d in range(defects.shape[1]):
            y = defects[:, d].astype(np.int64)
            pos = int(y.sum())
            if min(pos, y.size - pos) < 2:
                self.defects.append(pos / max(y.size, 1))
                self.constant_defects.append(d)
            else:
                self.defects.append(self._calibrated(np.array([pos, y.size - pos])).fit(x, y))
        return self

    def predict_proba(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (N, F) -> phase probabilities (N, P), defect probabilities (N, D)."""
        if self.phase is None:
            raise RuntimeError("FeatureSVM.predict_proba before fit")
        probs = np.zeros((x.shape[0], self.n_phases))
        probs[:, self.phase.classes_] = self.phase.predict_proba(x)
        defect = np.stack([np.full(x.shape[0], m) if isinstance(m, float) else m.predict_proba(x)[:, 1]
                           for m in self.defects], axis=1)
        return probs, defect
