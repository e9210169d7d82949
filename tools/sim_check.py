"""``weldfusion sim-check [--json FILE]``: the simulator's physics, measured.

Cooling times (t8/5) against Rosenthal's thin plate and EN 1011-2 for the same heat input, the
temperature step across the joint at two grid sizes, the hottest point of each material against
its boiling point, the plate a second after arc-off, band-power differences of every sensor at
0.5x / 2x / 4x its default rate (same seed), the short-circuit line in the microphone and the
shop-noise level. About a minute and a half on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm
from weldfusion.datasets.simulator_checks import all_checks, format_checks
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file, write_json


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="weldfusion sim-check", description=description(__doc__))
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON to FILE (.json)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.json is not None:
        output_file(args.json, force=args.force, suffixes=(".json",))  # refuse before the work
    bar = tqdm(total=7, desc="sim-check", unit="check", file=sys.stderr, disable=args.quiet)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    result = all_checks(progress=step)
    bar.close()
    print(format_checks(result))
    if args.json is not None:
        write_json(args.json, result, force=args.force)
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("sim-check", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
