"""``python -m weldfusion.tools.baseline_svm [RECIPE] --out DIR [--data DIR] [--set key=value ...] [--C 10]``.

The hand-crafted-features + SVM baseline on the same harness as the networks: the recipe's data
section (default ``fusion_all``: same windows, same split-by-recording, normalisation statistics
of the training split), features of :mod:`weldfusion.fusion.baselines.svm_features` (HOG, Welch
band energies, signal statistics), an RBF SVM for the phase and one per defect, defect thresholds
chosen on the validation split, and the project's metrics on the ``eval.split`` recordings.

Writes ``DIR/metrics.json`` (the names of ``evaluate``: ``phase.accuracy``, ``phase.macro_f1``,
``defect.mean_f1``, ``calibration.ece``, ``latency.ms_per_window`` = feature extraction + SVM per
window at batch 1, ``per_pair...``) and ``DIR/report.md``. ``weldfusion compare --svm`` runs the
same code next to trained networks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.staged_output import staged_output

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
    from torch.utils.data import DataLoader
    from tqdm import tqdm

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
    from weldfusion.fusion.baselines.svm_features import FeatureSVM, SVMFeatures
    from weldfusion.tools.training import metrics as M

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
    from torch.utils.data import default_collate

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
    from weldfusion.tools.training.evaluation import evaluate_predictions

    x, meta = collect(dataset, run.features, progress="features test" if progress else None)
    pred = predictions(run.svm, x, meta)
    metrics = evaluate_predictions(pred, info.phases, info.defects, run.thresholds, ece_bins)
    metrics["latency"] = latency(run, dataset, n=latency_windows)
    metrics["recordings"] = sorted(set(pred["recording_id"].tolist()))
    metrics["svm"] = {"n_train_windows": run.n_train, "n_features": run.n_features, "fit_s": run.fit_s,
                      "constant_defects": [info.defects[d] for d in run.svm.constant_defects]}
    return metrics, pred


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m weldfusion.tools.baseline_svm", description=__doc__.splitlines()[0])
    p.add_argument("recipe", nargs="?", default="fusion_all", help="recipe whose data section (windows, split) is "
                   "used (default: fusion_all)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--data", help="recordings; shortcut for --set data.path=...")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value (repeatable)")
    p.add_argument("--C", type=float, default=10.0, help="SVM regularisation C (default 10)")
    p.add_argument("--gamma", default="scale", help="RBF gamma: 'scale' (default) or a number")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from weldfusion.recipes.config import to_dict
    from weldfusion.recipes.tree import load_recipe
    from weldfusion.tools.training.data import build_data
    from weldfusion.tools.training.report import markdown_report

    if args.C <= 0:
        raise InvalidInput(f"--C must be > 0, got {args.C}")
    gamma = parse_gamma(args.gamma)
    overrides = list(args.overrides) + ([f"data.path={args.data}"] if args.data else [])
    recipe = load_recipe(args.recipe, overrides)
    split = recipe.eval.split
    bundle = build_data(recipe.data, splits=("train", "val", split), progress=not args.quiet)
    run = fit_svm(bundle, C=args.C, gamma=gamma, seed=recipe.seed, progress=not args.quiet)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{recipe.data.path}: no labelled windows in the {split} split")
    m, _ = evaluate_svm(run, dataset, bundle.info, ece_bins=recipe.eval.ece_bins,
                     latency_windows=recipe.eval.latency_windows, progress=not args.quiet)
    m.update({"recipe": f"{recipe.name} (SVM baseline, C={args.C}, gamma={gamma})", "checkpoint": "(not saved)",
              "data": str(recipe.data.path), "split": split, "config": to_dict(recipe),
              "thresholds": dict(zip(bundle.info.defects, run.thresholds, strict=True))})
    out = args.out
    with staged_output(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(m, indent=1))
        (tmp / "report.md").write_text(markdown_report(m, {}))
    print(f"SVM on {run.n_train} training windows, {run.n_features} features, fitted in {run.fit_s:.1f} s")
    print(f"{split} split: {m['n_windows']} windows  phase accuracy {m['phase']['accuracy']:.3f}  macro-F1 "
          f"{m['phase']['macro_f1']:.3f}  |  defect mean F1 {m['defect']['mean_f1'] or float('nan'):.3f}  |  "
          f"{m['latency']['ms_per_window']:.2f} ms/window")
    print(f"wrote {out / 'metrics.json'} and {out / 'report.md'}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("baseline_svm", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
