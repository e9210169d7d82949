"""``weldfusion compare RUN_DIR [RUN_DIR ...] --data DIR --out DIR [--svm]``: models side by side (paper Table 5).

Every run folder (or checkpoint) is scored on the SAME held-out windows: the recordings of
``--data`` are split with the recipe's seeded split-by-recording, which must therefore be the same
for all runs (``data.split``, ``data.filter``, windows and taxonomy are checked; the hop may differ
between runs and is taken from the first run for all of them), and the scored (recording, t0)
windows are checked to be identical. Each model uses its own normalisation statistics and the
defect thresholds chosen on validation during its training. ``--svm`` adds the hand-crafted
features + SVM baseline (``tools/baseline_svm.py``), fitted here on the first run's training split.

Columns: phase accuracy, phase recall (macro = balanced accuracy), phase macro-F1, defect recall
(mean over classes that occur) and defect mean F1 (thresholds from validation), and the forward
time per window at batch 1 (median, data loading excluded; one torch thread on CPU, as the live
monitor) and at batch 32 with ``--threads`` torch threads. Writes ``DIR/compare.md``,
``DIR/compare.json`` and each model's full ``DIR/<name>/metrics.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.tools.analysis.compare import (
    compare,
    markdown_table,
)
from weldfusion.tools.cli import add_report_output, description
from weldfusion.tools.errors import run as run_tool


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion compare", description=description(__doc__))
    p.add_argument("runs", nargs="+", type=Path, help="run folders (their best.pt) or checkpoint files")
    p.add_argument("--data", required=True, help="recordings the runs were trained on: directory, glob or split list")
    add_report_output(p)
    p.add_argument("--svm", action="store_true", help="also fit and score the HOG/spectral features + SVM baseline")
    p.add_argument("--split", choices=("test", "val"), default="test", help="which recordings to score (default test)")
    p.add_argument("--threads", type=int, help="torch CPU threads while scoring and timing (default: torch's)")
    p.add_argument("--latency-windows", type=int, default=30, help="batch-1 forward passes timed per model")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                   help="torch device (default cpu; auto: cuda when available)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = compare(args.runs, args.data, args.out, svm=args.svm, split=args.split, threads=args.threads,
                     latency_windows=args.latency_windows, device=args.device, progress=not args.quiet, force=args.force)
    print(markdown_table(report))
    print(f"wrote {args.out / 'compare.md'} and {args.out / 'compare.json'}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("compare", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
