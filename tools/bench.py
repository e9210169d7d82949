"""``weldfusion bench [SUB ...] [--json FILE]``: every speed figure of the project.

Each sub-benchmark is a module of ``tools/benchmarks/`` exposing ``add_arguments(parser)``
(optional) and ``run(args) -> list[dict(name, value, unit)]``. Result names are the stable ones of
docs/DESIGN.md "Machine-readable outputs". Without SUB the default set runs (data, model,
stream, baselines); ``predict`` and ``ingest`` (which writes large test videos) run only when named.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file, write_json

SUBS = ("data", "model", "stream", "baselines", "predict", "ingest")
DEFAULT_SUBS = ("data", "model", "stream", "baselines")


def main(argv: list[str] | None = None) -> int:
    available = list(SUBS)
    parser = argparse.ArgumentParser(prog="weldfusion bench", description=description(__doc__))
    parser.add_argument("subs", nargs="*", choices=available + [[]], default=[],
                        help=f"sub-benchmarks to run (default: {', '.join(DEFAULT_SUBS)})")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON to FILE (.json)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    parser.add_argument("--device", default="cpu", help="torch device for model benchmarks (cpu, cuda)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    modules = {sub: importlib.import_module(f"weldfusion.tools.benchmarks.{sub}") for sub in available}
    for mod in modules.values():
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.json is not None:
        output_file(args.json, force=args.force, suffixes=(".json",))
    results = []
    for sub in args.subs or DEFAULT_SUBS:
        print(f"== bench {sub}", flush=True)
        rows = modules[sub].run(args)
        for row in rows:
            print(f"  {row['name']:<55} {row['value']:>12.4g} {row['unit']}")
        results.extend(rows)
    from weldfusion.tools.benchmarks.machine import machine  # lazy: --help without loading torch

    report = {"machine": machine(args.device), "results": results}
    if args.json is not None:
        write_json(args.json, report, force=args.force)
        print(f"wrote {args.json}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("bench", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
