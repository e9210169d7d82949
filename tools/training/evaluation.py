"""Assemble the ``metrics.json`` tree of an evaluation from collected predictions.

Input is the dict of arrays from :func:`weldfusion.tools.training.predict.predict`; output is a
nested JSON-ready dict whose dotted paths are the stable names of docs/DESIGN.md:
``phase.accuracy``, ``phase.macro_f1``, ``defect.mean_f1``, ``calibration.ece``,
``per_pair.<pair>.phase.macro_f1`` (and ``per_process.<process>...``), plus per-class numbers,
AUCs and the confusion matrix. ``latency`` is added by the caller.
"""

from __future__ import annotations

import numpy as np
from weldfusion.tools.training import metrics as M


def _select(pred: dict, mask: np.ndarray) -> dict:
    return {k: v[mask] for k, v in pred.items() if isinstance(v, np.ndarray) and v.shape[:1] == mask.shape}


def task_metrics(pred: dict, phases: tuple[str, ...], defects: tuple[str, ...], thresholds: list[float],
                 ece_bins: int = 15) -> dict:
    """``{"phase": ..., "defect": ..., "calibration": ...}`` for one set of windows."""
    phase = M.phase_metrics(pred["phase"], pred["phase_probs"], phases)
    defect = M.defect_metrics(pred["defects"], pred["defect_probs"], thresholds, defects)
    conf = pred["phase_probs"].max(axis=1)
    correct = pred["phase_probs"].argmax(axis=1) == pred["phase"]
    cal = M.calibration(conf, correct, ece_bins)
    # defect calibration: every (window, class) probability as a binary forecast
    d_cal = M.calibration(pred["defect_probs"].ravel(), pred["defects"].ravel() > 0.5, ece_bins)
    return {"phase": phase, "defect": defect,
            "calibration": {"ece": cal["ece"], "mce": cal["mce"], "n_bins": cal["n_bins"], "bins": cal["bins"],
                            "defect_ece": d_cal["ece"]}}


def _short(m: dict) -> dict:
    """Per-group summary (no confusion matrices / bins, to keep metrics.json readable)."""
    ph, de = m["phase"], m["defect"]
    return {
        "n_windows": ph["n"],
        "phase": {"accuracy": ph["accuracy"], "macro_f1": ph["macro_f1"], "macro_auc": ph["macro_auc"],
                  "per_class_recall": {k: v["recall"] for k, v in ph["per_class"].items()}},
        "defect": {"mean_f1": de["mean_f1"], "micro_f1": de["micro_f1"], "mean_auc": de["mean_auc"],
                   "per_class_f1": {k: v["f1"] for k, v in de["per_class"].items()}},
        "calibration": {"ece": m["calibration"]["ece"]},
    }


def evaluate_predictions(pred: dict, phases: tuple[str, ...], defects: tuple[str, ...], thresholds: list[float],
                         ece_bins: int = 15, modalities: tuple[str, ...] = ()) -> dict:
    """The metrics tree: overall task metrics + ``per_pair`` / ``per_process`` breakdowns.

    ``modalities`` names the columns of ``pred["modality_weights"]`` (N, M) when present; their
    means over the windows go to ``modality_weights_mean``.
    """
    out = task_metrics(pred, phases, defects, thresholds, ece_bins)
    out["n_windows"] = int(pred["phase"].shape[0])
    recs = pred["recording_id"]
    out["n_recordings"] = int(len(np.unique(recs)))
    for key, field in (("per_pair", "material_pair"), ("per_process", "process")):
        groups = {}
        for value in sorted(set(pred[field].tolist())):
            mask = pred[field] == value
            groups[value] = _short(task_metrics(_select(pred, mask), phases, defects, thresholds, ece_bins))
            groups[value]["n_recordings"] = int(len(np.unique(recs[mask])))
        out[key] = groups
    if "modality_weights" in pred and modalities:
        means = pred["modality_weights"].mean(axis=0)
        out["modality_weights_mean"] = {name: float(v) for name, v in zip(modalities, means, strict=True)}
    return out


def get_path(tree: dict, dotted: str):
    """Value at a dotted path such as ``per_pair.Al-steel.phase.macro_f1`` (``KeyError`` naming it).

    Keys may contain dots themselves (``segments.f1@0.50``): at each level the longest key that
    matches the next parts of the path wins."""
    node, parts, i = tree, dotted.split("."), 0
    while i < len(parts):
        if not isinstance(node, dict):
            raise KeyError(f"metric {dotted!r} not found (no {parts[i]!r})")
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in node:
                node, i = node[key], j
                break
        else:
            raise KeyError(f"metric {dotted!r} not found (no {parts[i]!r})")
    return node
