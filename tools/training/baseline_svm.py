"""``weldfusion baseline-svm [RECIPE] --out DIR [--data DIR] [--set key=value ...] [--C 10]``.

The library behind ``weldfusion baseline_svm`` (the verb only parses its arguments).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm
from weldfusion.fusion.baselines.svm_features import FeatureSVM, SVMFeatures
from weldfusion.recipes.config import to_dict
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.tree import load_recipe
from weldfusion.tools.outputs import output_dir, staged_output
from weldfusion.tools.training import metrics as M
from weldfusion.tools.training.data import build_data
from weldfusion.tools.training.evaluation import evaluate_predictions
from weldfusion.tools.training.report import markdown_report

META_KEYS = ("phase", "defects", "pair", "t0")


TEXT_KEYS = ("recording_id", "material_pair", "process")


@dataclass
class SVMRun:
    """A fitted SVM baseline and what is needed to apply it to windows of the same data layout."""

    svm: object  # FeatureSVM
    features: object  # SVMFeatures
    thresholds: list[float]
    n_train: int
    n_features: int
    fit_s: float


def collect(dataset, features, batch_size: int = 64, progress: str | None = None) -> tuple[np.ndarray, dict]:
    """Features (N, F) of every window of ``dataset`` and its labels/metadata in ``predict``'s layout."""

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    xs, meta = [], {k: [] for k in (*META_KEYS, *TEXT_KEYS)}
    for batch in tqdm(loader, desc=progress, leave=False, dynamic_ncols=True, disable=progress is None):
        xs.append(features.batch(batch))
        for k in META_KEYS:
            meta[k].append(batch[k].numpy())
        for k in TEXT_KEYS:
            meta[k].append(np.asarray(batch[k], dtype=object))
    if not xs:
        raise InvalidInput("no windows to extract features from (empty data split)")
    return np.concatenate(xs), {k: np.concatenate(v) for k, v in meta.items()}


def predictions(svm, x: np.ndarray, meta: dict) -> dict:
    """The dict of :func:`weldfusion.tools.training.predict.predict` for SVM outputs on features ``x``."""
    phase_probs, defect_probs = svm.predict_proba(x)
    return {"phase_probs": phase_probs, "defect_probs": defect_probs, **meta}


def fit_svm(bundle, *, C: float = 10.0, gamma: str | float = "scale", seed: int = 0,
            progress: bool = True) -> SVMRun:
    """Fit the SVMs on the training windows of ``bundle`` (a :class:`~weldfusion.tools.training.data.DataBundle`)
    and choose the defect thresholds on its validation windows (as the trainer does for the networks)."""

    if bundle.train is None or len(bundle.train) == 0:
        raise InvalidInput("the training split has no labelled windows")
    if bundle.val is None or len(bundle.val) == 0:
        raise InvalidInput("the validation split is empty (defect thresholds are chosen on it)")
    features = SVMFeatures(bundle.info)
    x_train, m_train = collect(bundle.train, features, progress="features train" if progress else None)
    t0 = time.perf_counter()
    svm = FeatureSVM(len(bundle.info.phases), C=C, gamma=gamma, seed=seed).fit(x_train, m_train["phase"],
                                                                            m_train["defects"])
    fit_s = time.perf_counter() - t0
    x_val, m_val = collect(bundle.val, features, progress="features val" if progress else None)
    val = predictions(svm, x_val, m_val)
    thresholds = M.choose_thresholds(val["defects"], val["defect_probs"])
    return SVMRun(svm, features, thresholds, len(x_train), features.size, fit_s)


def latency(run: SVMRun, dataset, n: int = 30, warmup: int = 3) -> dict:
    """Feature extraction + SVM time per window at batch 1 (median over ``n`` windows after ``warmup``),
    in the layout of :func:`~weldfusion.tools.training.predict.measure_latency`."""

    if len(dataset) == 0:
        raise InvalidInput("no windows to time")
    times = []
    for k in range(max(n, 1) + warmup):
        batch = default_collate([dataset[k % len(dataset)]])
        t0 = time.perf_counter()
        run.svm.predict_proba(run.features.batch(batch))
        if k >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    bsz = min(32, len(dataset))
    batch = default_collate([dataset[i] for i in range(bsz)])
    t0 = time.perf_counter()
    run.svm.predict_proba(run.features.batch(batch))
    batched = (time.perf_counter() - t0) * 1e3 / bsz
    return {"ms_per_window": float(np.median(times)), "ms_per_window_mean": float(np.mean(times)),
            "ms_per_window_p90": float(np.percentile(times, 90)), "ms_per_window_batched": float(batched),
            "batch_size": int(bsz), "windows_timed": len(times), "device": "cpu (scikit-learn)", "threads": 1}


def evaluate_svm(run: SVMRun, dataset, info, *, ece_bins: int = 15, latency_windows: int = 30,
                 progress: bool = True) -> tuple[dict, dict]:
    """The ``metrics.json`` tree of ``evaluate`` for the SVM baseline on ``dataset``, and the predictions."""

    x, meta = collect(dataset, run.features, progress="features test" if progress else None)
    pred = predictions(run.svm, x, meta)
    metrics = evaluate_predictions(pred, info.phases, info.defects, run.thresholds, ece_bins)
    metrics["latency"] = latency(run, dataset, n=latency_windows)
    metrics["recordings"] = sorted(set(pred["recording_id"].tolist()))
    metrics["svm"] = {"n_train_windows": run.n_train, "n_features": run.n_features, "fit_s": run.fit_s,
                      "constant_defects": [info.defects[d] for d in run.svm.constant_defects]}
    return metrics, pred


def parse_gamma(text: str) -> str | float:
    """``scale``/``auto`` or a positive number (``ValueError`` otherwise)."""
    if text in ("scale", "auto"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"--gamma must be 'scale', 'auto' or a number, got {text!r}") from None
    if value <= 0:
        raise InvalidInput(f"--gamma must be > 0, got {value}")
    return value


def svm_baseline(recipe_path, overrides: list[str], out: str | os.PathLike, *, C: float = 10.0,
                 gamma: float | str = "scale", force: bool = False, progress: bool = True) -> tuple[dict, SVMRun]:
    """Fit the SVM baseline on a recipe's training split and score its ``eval.split``; write
    ``metrics.json`` and ``report.md`` to ``out``. Returns the metrics and the fitted run."""
    output_dir(out, force=force, inputs=[])
    recipe = load_recipe(recipe_path, overrides)
    split = recipe.eval.split
    bundle = build_data(recipe.data, splits=("train", "val", split), progress=progress)
    run = fit_svm(bundle, C=C, gamma=gamma, seed=recipe.seed, progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{recipe.data.path}: no labelled windows in the {split} split")
    m, _ = evaluate_svm(run, dataset, bundle.info, ece_bins=recipe.eval.ece_bins,
                        latency_windows=recipe.eval.latency_windows, progress=progress)
    m.update({"recipe": f"{recipe.name} (SVM baseline, C={C}, gamma={gamma})", "checkpoint": "(not saved)",
              "data": str(recipe.data.path), "split": split, "config": to_dict(recipe),
              "thresholds": dict(zip(bundle.info.defects, run.thresholds, strict=True))})
    with staged_output(out, force=force) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(m, indent=1))
        (tmp / "report.md").write_text(markdown_report(m, {}))
    return m, run
