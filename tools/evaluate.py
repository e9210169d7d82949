"""``weldfusion evaluate CHECKPOINT --data DIR|GLOB --out DIR``: metrics JSON, plots and a short report.

CHECKPOINT is a ``.pt`` file or a run folder (its ``best.pt``). The recordings matched by ``--data``
are split exactly as in training (the recipe's split-by-recording, seeded), and the ``--split``
part is scored (default ``test``: the held-out recordings); ``--split all`` scores every recording
(e.g. new data). Windows are normalised with the training run's statistics and defect decisions
use the per-class thresholds chosen on the validation split during training.

Writes ``DIR/metrics.json`` (``phase.accuracy``, ``phase.macro_f1``, ``defect.mean_f1``,
``calibration.ece``, ``latency.ms_per_window``, ``per_pair.<pair>.phase.macro_f1``, per-process,
per-class numbers, AUCs, confusion matrix), ``confusion.png``, ``reliability.png``,
``predictions.csv`` (one row per window) and ``report.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.tools.cli import add_report_output, add_scoring_options
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.training.evaluate import SPLITS, evaluate_checkpoint


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion evaluate", description="Score a checkpoint on held-out "
                                "recordings: metrics.json, plots, report.md.")
    p.add_argument("checkpoint", type=Path, help="best.pt / last.pt, or a run folder (uses its best.pt)")
    p.add_argument("--data", required=True, help="recordings: directory, glob, split list or .h5 file")
    add_report_output(p)
    p.add_argument("--split", choices=SPLITS, help="which recordings to score (default: the recipe's eval.split, "
                   "normally test)")
    add_scoring_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    m = evaluate_checkpoint(args.checkpoint, args.data, args.out, split=args.split, device=args.device,
                            batch_size=args.batch_size, progress=not args.quiet, force=args.force)
    print(f"{m['split']} split: {m['n_windows']} windows from {m['n_recordings']} recordings")
    print(f"phase accuracy {m['phase']['accuracy']:.3f}  macro-F1 {m['phase']['macro_f1']:.3f}  |  defect mean F1 "
          f"{m['defect']['mean_f1'] if m['defect']['mean_f1'] is not None else float('nan'):.3f}  |  ECE "
          f"{m['calibration']['ece']:.3f}  |  {m['latency']['ms_per_window']:.2f} ms/window")
    for pair, g in m["per_pair"].items():
        print(f"  {pair:<10} phase macro-F1 {g['phase']['macro_f1']:.3f}  defect mean F1 "
              f"{g['defect']['mean_f1'] if g['defect']['mean_f1'] is not None else float('nan'):.3f}")
    print(f"wrote {args.out / 'metrics.json'}, {args.out / 'report.md'} and plots")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("evaluate", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
