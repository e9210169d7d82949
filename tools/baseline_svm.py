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
import sys

from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.cli import add_report_output, description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.training.baseline_svm import parse_gamma, svm_baseline


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion baseline-svm", description=description(__doc__))
    p.add_argument("recipe", nargs="?", default="fusion_all", help="recipe whose data section (windows, split) is "
                   "used (default: fusion_all)")
    add_report_output(p)
    p.add_argument("--data", help="recordings; shortcut for --set data.path=...")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value (repeatable)")
    p.add_argument("--C", type=float, default=10.0, help="SVM regularisation C (default 10)")
    p.add_argument("--gamma", default="scale", help="RBF gamma: 'scale' (default) or a number")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.C <= 0:
        raise InvalidInput(f"--C must be > 0, got {args.C}")
    gamma = parse_gamma(args.gamma)
    overrides = list(args.overrides) + ([f"data.path={args.data}"] if args.data else [])
    m, run = svm_baseline(args.recipe, overrides, args.out, C=args.C, gamma=gamma, force=args.force,
                          progress=not args.quiet)
    print(f"SVM on {run.n_train} training windows, {run.n_features} features, fitted in {run.fit_s:.1f} s")
    print(f"{m['split']} split: {m['n_windows']} windows  phase accuracy {m['phase']['accuracy']:.3f}  macro-F1 "
          f"{m['phase']['macro_f1']:.3f}  |  defect mean F1 {m['defect']['mean_f1'] or float('nan'):.3f}  |  "
          f"{m['latency']['ms_per_window']:.2f} ms/window")
    print(f"wrote {args.out / 'metrics.json'} and {args.out / 'report.md'}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("baseline-svm", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
