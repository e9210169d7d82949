"""``weldfusion ingest MANIFEST --out FILE.h5 [--force]``: raw sensor files -> one HDF5 recording.

The manifest is the ``recording.yaml`` of docs/DESIGN.md "Ingest manifest". Every stream is converted
in blocks (memory stays bounded for long high-speed videos and MHz acoustic files) with a
progress bar; the output appears only when complete and valid, and an existing file is kept
unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.datasets.ingest import ingest, summary
from weldfusion.datasets.writer import DEFAULT_COMPRESSION_LEVEL
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run
from weldfusion.tools.outputs import claim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="weldfusion ingest", description=description(__doc__))
    parser.add_argument("manifest", type=Path, help="recording.yaml describing the raw files")
    parser.add_argument("--out", type=Path, required=True, help="output recording (.h5)")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--recipe", type=Path,
                        help="check labels against this training recipe's taxonomy (data.phases / data.defects) "
                             "instead of the manifest's own or the default one")
    parser.add_argument("--compression-level", type=int, default=DEFAULT_COMPRESSION_LEVEL, choices=range(10),
                        metavar="0-9", help=f"gzip level of the streams (default {DEFAULT_COMPRESSION_LEVEL}; "
                        "README: size vs time)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    taxonomy = None
    if args.recipe is not None:
        # lazy: the recipe tree pulls in the model configs; only --recipe needs it
        from weldfusion.recipes.tree import load_recipe

        taxonomy = load_recipe(args.recipe).data.taxonomy
    warnings: list[str] = []
    claim(args.out)
    reports = ingest(args.manifest, args.out, args.force, taxonomy=taxonomy, compression_level=args.compression_level,
                     progress=not args.quiet, warnings=warnings)
    for line in summary(reports):
        print(line)
    print(f"wrote {args.out}")
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run("ingest", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
