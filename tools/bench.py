"""``weldfusion bench [SUB ...] [--json FILE]``: every speed figure of the project.

Each sub-benchmark lives in ``tools/bench_<sub>.py`` and exposes
``add_arguments(parser)`` (optional) and ``run(args) -> list[dict(name, value, unit)]``.
Result names are the stable ones of DESIGN.md "Machine-readable outputs".
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from pathlib import Path

from weldfusion.recipes.errors import MissingInput
from weldfusion.tools.errors import run as run_tool

SUBS = ("data", "model", "stream", "baselines")


def _available() -> list[str]:
    out = []
    for sub in SUBS:
        try:
            importlib.import_module(f"weldfusion.tools.bench_{sub}")
        except ModuleNotFoundError as err:
            if err.name != f"weldfusion.tools.bench_{sub}":
                raise
            continue
        out.append(sub)
    return out


def machine(device: str = "cpu") -> dict:
    """CPU model, cores, torch version and device of this run."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    dev = device if device == "cpu" else f"{device} ({torch.cuda.get_device_name(0)})"
    return {"cpu": cpu, "cores": cores, "torch": torch.__version__, "device": dev}


def main(argv: list[str] | None = None) -> int:
    available = _available()
    parser = argparse.ArgumentParser(prog="weldfusion bench", description=__doc__.splitlines()[0])
    parser.add_argument("subs", nargs="*", choices=available + [[]], default=[],
                        help=f"sub-benchmarks to run (default: all of {', '.join(available)})")
    parser.add_argument("--json", type=Path, help="write results as JSON to this file")
    parser.add_argument("--device", default="cpu", help="torch device for model benchmarks (cpu, cuda)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    modules = {sub: importlib.import_module(f"weldfusion.tools.bench_{sub}") for sub in available}
    for mod in modules.values():
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.json is not None and not args.json.parent.is_dir():
        raise MissingInput(f"{args.json}: directory {args.json.parent} does not exist")
    results = []
    for sub in args.subs or available:
        print(f"== bench {sub}", flush=True)
        rows = modules[sub].run(args)
        for row in rows:
            print(f"  {row['name']:<55} {row['value']:>12.4g} {row['unit']}")
        results.extend(rows)
    report = {"machine": machine(args.device), "results": results}
    if args.json is not None:
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=2))
        os.replace(tmp, args.json)
        print(f"wrote {args.json}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("bench", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
