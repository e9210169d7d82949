"""``weldfusion rate-sweep CHECKPOINT --out DIR``: a model's answer with one sensor at another rate.

Simulates a held-out set at the default rates and, with the same seed, one set per sensor and
rate factor (only that sensor's rate changed); scores the checkpoint on each and writes
``rate_sweep.json`` and ``rate_sweep.md`` (phase macro-F1, defect mean F1 and their change in
points), with the sets under ``data/`` and the evaluation reports under ``eval/``.
"""

from __future__ import annotations

import argparse
import sys

from weldfusion.datasets.simulator_checks import RATE_FIELDS
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.files import atomic_write_text
from weldfusion.tools.analysis.rate_sweep import SWEEP_SEED, format_table, rate_sweep
from weldfusion.tools.cli import add_report_output, description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_dir, write_json


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InvalidInput(f"--factors: expected a comma list of numbers, got {text!r}") from None
    if not values or any(not (0.05 <= v <= 50.0) for v in values):
        raise InvalidInput(f"--factors: each factor must lie in [0.05, 50], got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="weldfusion rate-sweep", description=description(__doc__))
    p.add_argument("checkpoint", help="best.pt / last.pt, or a run folder (uses its best.pt)")
    add_report_output(p)
    p.add_argument("--factors", default="0.5,2,4", help="rate factors to try (default 0.5,2,4)")
    p.add_argument("--modalities", default=",".join(RATE_FIELDS), help="sensors to sweep (default all four)")
    p.add_argument("--runs", type=int, default=6, help="simulated runs per material pair (default 6)")
    p.add_argument("--seed", type=int, default=SWEEP_SEED, help=f"simulation seed (default {SWEEP_SEED})")
    p.add_argument("--duration-s", type=float, help="run length in seconds (default: the simulator's 8-12)")
    p.add_argument("--workers", type=int, default=2, help="simulation processes (default 2)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="torch device")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    mods = [m.strip() for m in args.modalities.split(",") if m.strip()]
    bad = [m for m in mods if m not in RATE_FIELDS]
    if bad or not mods:
        raise InvalidInput(f"--modalities: unknown sensor(s) {', '.join(bad) or '(none)'}; known: {', '.join(RATE_FIELDS)}")
    if args.duration_s is not None and not args.duration_s >= 3.0:
        raise InvalidInput(f"--duration-s must be >= 3 s, got {args.duration_s}")
    if args.runs < 1:
        raise InvalidInput(f"--runs must be >= 1, got {args.runs}")
    out = output_dir(args.out, force=args.force, inputs=[args.checkpoint])
    result = rate_sweep(args.checkpoint, out, modalities=mods, factors=_floats(args.factors), runs=args.runs,
                        seed=args.seed, workers=args.workers, device=args.device, progress=not args.quiet,
                        duration_s=None if args.duration_s is None else (args.duration_s, args.duration_s))
    table = format_table(result)
    write_json(out / "rate_sweep.json", result, force=True)
    atomic_write_text(out / "rate_sweep.md", table + "\n")
    print(table)
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("rate-sweep", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
