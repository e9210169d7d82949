"""``weldfusion probe DIR [--json FILE]``: how complementary are the sensors of a data set?

Cuts every recording into windows (0.4 s, hop 0.2 s), computes simple statistics per modality
(means, spreads, percentiles, band energies, gradients, coarse spatial pooling, and the linear
trend across the window of the per-frame brightness / temperature / hot area and of the sound's
RMS envelope — what a set-point ramp would change), each also as the deviation from its
recording's median window, plus the material pair (metadata), and trains one logistic regression
per modality, one on all modalities together and one on all but each modality (``without_<m>``:
can the other sensors stand in for a missing one?), with recording-level cross-validation
(GroupKFold: no recording is in train and test). It reports the phase macro-F1 and the F1 of each
phase and defect per feature set, and lists, for each modality, the labels it falls short on that
another modality gets. Only windows where all four sensors are present and valid are scored, so
the columns compare like with like.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from threadpoolctl import threadpool_limits
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.analysis.probe import (
    collect,
    format_table,
    probe,
)
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file, write_json


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="weldfusion probe", description=description(__doc__))
    p.add_argument("data", help="directory of recordings (*.h5)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON to FILE (.json; - for stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--folds", type=int, default=3, help="cross-validation folds, split by recording (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = p.parse_args(argv)
    root = Path(args.data)
    if not root.is_dir():
        raise InvalidInput(f"{root}: not a directory")
    files = sorted(root.glob("*.h5"))
    if not files:
        raise InvalidInput(f"{root}: no *.h5 recordings")
    if args.folds < 2:
        raise InvalidInput(f"--folds must be >= 2, got {args.folds}")
    if args.json is not None and str(args.json) != "-":
        output_file(args.json, force=args.force, suffixes=(".json",))  # refuse before minutes of work
    with threadpool_limits(1):  # many tiny BLAS calls: threads only contend (50x slower on a shared box)
        result = probe(collect(files), folds=args.folds, seed=args.seed)
    print(format_table(result))
    if args.json is not None:
        write_json(args.json, result, force=args.force)
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("probe", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
