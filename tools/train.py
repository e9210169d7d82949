"""``weldfusion train RECIPE.yaml --out RUN_DIR [--set key=value ...] [--resume] [--device cpu|cuda]``.

Trains a recipe (a file, or the name of a packaged recipe such as ``fusion_all``) into RUN_DIR:
``best.pt``, ``last.pt``, ``config.yaml`` (resolved recipe), ``norm_stats.json``, ``splits/``,
``metrics.jsonl`` and ``curves.png``. Multi-process data-parallel training::

    torchrun --nproc_per_node 2 -m weldfusion.tools.train RECIPE.yaml --out RUN_DIR

(gloo on CPU, nccl on GPU; ``train.batch_size`` is the global batch; only rank 0 writes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from weldfusion.tools.errors import run as run_tool


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion train", description="Train a recipe into a run folder "
                                "(checkpoints, resolved config, metrics.jsonl, curves.png).")
    p.add_argument("recipe", help="recipe YAML file, or the name of a packaged recipe (e.g. fusion_all)")
    p.add_argument("--out", required=True, type=Path, help="run folder (created; must not hold a checkpoint "
                   "unless --resume)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set train.epochs=5 (repeatable)")
    p.add_argument("--data", help="recordings (directory, glob or split list); shortcut for --set data.path=...")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="shortcut for --set train.device=...")
    p.add_argument("--quiet", action="store_true", help="no progress bars / per-epoch lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # lazy: --help and argument errors answer without loading torch
    from weldfusion.recipes.tree import load_recipe
    from weldfusion.tools.training import distributed
    from weldfusion.tools.training.run import train_recipe

    overrides = list(args.overrides)
    if args.data is not None:
        overrides.append(f"data.path={args.data}")
    if args.device is not None:
        overrides.append(f"train.device={args.device}")
    recipe = load_recipe(args.recipe, overrides)
    ctx = distributed.init(recipe.train.device)
    try:
        t0 = time.perf_counter()
        result = train_recipe(recipe, args.out, resume=args.resume, ctx=ctx, progress=not args.quiet)
        if ctx.is_main:
            how = "stopped early" if result.stopped_early else "finished"
            print(f"{how} after {result.epochs_run} epochs in {time.perf_counter() - t0:.0f} s: best validation "
                  f"{recipe.train.monitor} {result.best_score:.4f} at epoch {result.best_epoch}")
            print(f"checkpoint: {args.out / 'best.pt'}   curves: {args.out / 'curves.png'}")
            print(f"next: weldfusion evaluate {args.out / 'best.pt'} --data {recipe.data.path} "
                  f"--out {args.out / 'eval'}")
    finally:
        distributed.shutdown(ctx)
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("train", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
