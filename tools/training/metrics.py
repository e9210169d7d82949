"""Classification and calibration metrics (scikit-learn underneath), on NumPy arrays.

Phases are single-label (``probs`` (N, P) rows sum to 1); defects are multi-label (``probs`` (N, D)
independent sigmoids, ``y`` (N, D) 0/1). Every function returns plain JSON-ready Python values.

Conventions (stated in the report and README):

- ``phase.macro_f1`` averages over the phase classes present in the labels or the predictions
  (scikit-learn's default ``labels=None`` behaviour); AUCs are one-vs-rest, per class, skipped for
  a class that has only one label value in the data (``None``).
- Defect thresholds are chosen per class on the validation split to maximise F1 (:func:`choose_thresholds`)
  and then applied unchanged to the test split.
- ``defect.mean_f1`` averages the per-class F1 over the defect classes that occur in the labels or
  in the predictions (a class that never occurs and is never predicted carries no information;
  a class only predicted counts with F1 = 0).
- ``calibration.ece``: expected calibration error of the top-1 phase confidence, equal-width bins.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import metrics as skm


def _f(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def phase_metrics(y: np.ndarray, probs: np.ndarray, names: tuple[str, ...] | list[str]) -> dict:
    """Accuracy, macro-F1, per-class recall/precision/F1/support, one-vs-rest AUCs, confusion matrix.

    Args:
        y: (N,) int true class ids.
        probs: (N, P) class probabilities.
        names: the P class names.
    """
    y = np.asarray(y, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != y.shape[0] or probs.shape[1] != len(names):
        raise ValueError(f"phase metrics: probs {probs.shape} does not match labels {y.shape} and {len(names)} classes")
    if y.size == 0:
        raise ValueError("phase metrics: no windows to evaluate")
    pred = probs.argmax(axis=1)
    labels = np.arange(len(names))
    present = np.union1d(np.unique(y), np.unique(pred))
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    per_class = {}
    aucs = []
    for i, name in enumerate(names):
        truth = (y == i).astype(np.int64)
        auc = skm.roc_auc_score(truth, probs[:, i]) if 0 < truth.sum() < truth.size else None
        if auc is not None:
            aucs.append(auc)
        per_class[name] = {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                           "support": int(sup[i]), "auc": _f(auc)}
    with warnings.catch_warnings():  # predicted classes absent from the truth are expected on a few welds
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = float(skm.balanced_accuracy_score(y, pred)) if len(np.unique(y)) > 0 else None
    return {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "macro_f1": float(skm.f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "balanced_accuracy": balanced,
        "macro_auc": _f(float(np.mean(aucs))) if aucs else None,
        "n": int(y.size),
        "per_class": per_class,
        "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist(),
        "classes": list(names),
    }


#: Thresholds whose validation F1 is at least this share of the best one form the near-optimal plateau.
F1_PLATEAU = 0.97


def best_f1_threshold(y: np.ndarray, p: np.ndarray, default: float = 0.5) -> float:
    """Threshold on scores ``p`` (N,) maximising F1 for 0/1 labels ``y`` (N,); ``default`` without positives.

    A validation split holds a few dozen positive windows per defect, so the single F1-optimal
    score is brittle (it often sits on one outlying window). The threshold is therefore the middle
    of the near-optimal plateau: the median of the candidate scores whose F1 is at least
    :data:`F1_PLATEAU` of the best, moved half-way down to the next lower score so that it does not
    sit exactly on a validation score.
    """
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=np.float64)
    if y.sum() == 0 or y.sum() == y.size:
        return default
    prec, rec, thr = skm.precision_recall_curve(y, p)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)[:-1]
    near = np.flatnonzero(f1 >= F1_PLATEAU * f1.max())  # thr is ascending
    t = float(thr[near[len(near) // 2]])
    lower = p[p < t]
    return float((t + lower.max()) / 2) if lower.size else t


def choose_thresholds(y: np.ndarray, probs: np.ndarray, default: float = 0.5) -> list[float]:
    """Per-class F1-optimal thresholds (D,) for multi-label ``y`` (N, D) / ``probs`` (N, D)."""
    y = np.asarray(y)
    probs = np.asarray(probs)
    return [best_f1_threshold(y[:, d], probs[:, d], default) for d in range(probs.shape[1])]


def defect_metrics(y: np.ndarray, probs: np.ndarray, thresholds: list[float] | np.ndarray,
                   names: tuple[str, ...] | list[str]) -> dict:
    """Per-class precision/recall/F1/AUC at ``thresholds`` and their means (see module docstring).

    Args:
        y: (N, D) 0/1 true defects.
        probs: (N, D) defect probabilities.
        thresholds: (D,) decision thresholds.
        names: the D defect names.
    """
    y = np.asarray(y).astype(np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    thr = np.asarray(thresholds, dtype=np.float64)
    if probs.shape != y.shape or probs.shape[1] != len(names) or thr.shape != (len(names),):
        raise ValueError(f"defect metrics: probs {probs.shape}, labels {y.shape}, thresholds {thr.shape} "
                         f"do not match {len(names)} classes")
    pred = (probs >= thr[None, :]).astype(np.int64)
    per_class, f1s, aucs = {}, [], []
    for d, name in enumerate(names):
        p, r, f1, _ = skm.precision_recall_fscore_support(y[:, d], pred[:, d], labels=[1], zero_division=0)
        support, predicted = int(y[:, d].sum()), int(pred[:, d].sum())
        auc = skm.roc_auc_score(y[:, d], probs[:, d]) if 0 < support < y.shape[0] else None
        ap = skm.average_precision_score(y[:, d], probs[:, d]) if support > 0 else None
        if support + predicted > 0:
            f1s.append(float(f1[0]))
        if auc is not None:
            aucs.append(auc)
        per_class[name] = {"precision": float(p[0]), "recall": float(r[0]), "f1": float(f1[0]), "auc": _f(auc),
                           "average_precision": _f(ap), "support": support, "predicted": predicted,
                           "threshold": float(thr[d])}
    exact = float(np.mean(np.all(pred == y, axis=1))) if y.size else None
    any_true, any_pred = y.any(axis=1), pred.any(axis=1)
    _, _, any_f1, _ = skm.precision_recall_fscore_support(any_true, any_pred, labels=[True], zero_division=0)
    return {
        "mean_f1": float(np.mean(f1s)) if f1s else None,
        "micro_f1": float(skm.f1_score(y, pred, average="micro", zero_division=0)),
        "mean_auc": float(np.mean(aucs)) if aucs else None,
        "subset_accuracy": exact,
        "any_defect_f1": float(any_f1[0]),
        "per_class": per_class,
        "classes": list(names),
    }


def calibration(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> dict:
    """Expected calibration error and reliability-diagram bins of top-1 confidences.

    Args:
        confidence: (N,) predicted probability of the predicted class.
        correct: (N,) bool, prediction was right.
        n_bins: equal-width confidence bins on [0, 1].
    Returns:
        ``{"ece", "mce", "bins": [{"lo", "hi", "count", "confidence", "accuracy"}, ...]}``.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        raise ValueError("calibration: no predictions")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    bins, ece, mce = [], 0.0, 0.0
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        c = float(conf[mask].mean()) if count else None
        a = float(ok[mask].mean()) if count else None
        if count:
            gap = abs(a - c)
            ece += count / conf.size * gap
            mce = max(mce, gap)
        bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": count, "confidence": c, "accuracy": a})
    return {"ece": float(ece), "mce": float(mce), "n_bins": n_bins, "bins": bins}


def monitor_score(phase: dict, defect: dict, monitor: str) -> float:
    """The early-stopping score: ``phase_macro_f1``, ``defect_mean_f1`` or ``combined`` (their mean)."""
    p = phase["macro_f1"]
    d = defect["mean_f1"] if defect["mean_f1"] is not None else 0.0
    if monitor == "phase_macro_f1":
        return float(p)
    if monitor == "defect_mean_f1":
        return float(d)
    if monitor == "combined":
        return float(0.5 * (p + d))
    raise ValueError(f"unknown monitor {monitor!r}; allowed: phase_macro_f1, defect_mean_f1, combined")
