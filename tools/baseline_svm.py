"""``weldfusion baseline-svm [RECIPE] --out DIR [--data DIR] [--set key=value ...] [--C 10]``.

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
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import staged_output
from weldfusion.tools.training.baseline_svm import (
    evaluate_svm,
    fit_svm,
    parse_gamma,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion baseline-svm", description=__doc__.splitlines()[0])
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
    return run_tool("baseline-svm", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
