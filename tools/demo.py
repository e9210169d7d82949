"""``weldfusion demo [--out DIR] [--force]``: the quick-start job on built-in simulated data.

Simulates the default data set (3 material pairs x 24 runs), trains the default fusion recipe
(``recipes/fusion_all.yaml``), evaluates it on the held-out recordings, runs the per-modality
ablation, and prints where the report and plots are. Every step is the same command a user
would run by hand; they are printed as they run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools import ablate, evaluate, synth, train
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool

STEPS = ("data", "run", "eval", "ablate")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion demo", description=description(__doc__))
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="demo folder (default out/demo)")
    p.add_argument("--force", action="store_true",
                   help=f"replace the demo's own sub-folders ({', '.join(STEPS)}) if they exist")
    p.add_argument("--runs", type=int, default=24, help="simulated runs per material pair (default 24)")
    p.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="recipe override passed to train (repeatable)")
    return p


def _step(title: str, argv: list[str], fn) -> None:
    print(f"\n== {title}\n$ weldfusion {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    fn(argv[1:])
    print(f"({title}: {time.perf_counter() - t0:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    out: Path = args.out
    existing = [out / s for s in STEPS if (out / s).exists()]
    if existing and not args.force:
        raise InvalidInput(f"{existing[0]}: exists from an earlier demo (use --force to replace, or --out elsewhere)")
    for path in existing:
        shutil.rmtree(path)
    out.mkdir(parents=True, exist_ok=True)
    data, run, ev, ab = (out / s for s in STEPS)
    t0 = time.perf_counter()
    _step("simulate", ["synth", "--out", str(data), "--runs", str(args.runs), "--seed", str(args.seed)], synth.main)
    train_argv = ["train", "fusion_all", "--out", str(run), "--data", str(data)]
    for item in args.overrides:
        train_argv += ["--set", item]
    _step("train", train_argv, train.main)
    _step("evaluate", ["evaluate", str(run / "best.pt"), "--data", str(data), "--out", str(ev)], evaluate.main)
    _step("ablate", ["ablate", str(run / "best.pt"), "--data", str(data), "--out", str(ab)], ablate.main)
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s")
    print(f"  report:      {ev / 'report.md'}   (metrics: {ev / 'metrics.json'})")
    print(f"  ablation:    {ab / 'ablation.md'}   (chart: {ab / 'ablation_modalities.png'})")
    print(f"  training:    {run / 'curves.png'}   (checkpoint: {run / 'best.pt'})")
    print(f"  data:        {data}   (look at one: weldfusion inspect {data}/<recording>.h5 --plot run.png)")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("demo", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
