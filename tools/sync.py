"""``weldfusion sync MANIFEST [--reference STREAM] [--write] [--json FILE]``: estimate clock offsets.

Cross-correlates a shared physical event envelope (arc on/off, short circuits: arc power,
camera brightness, sound energy, thermal mean) of every stream with the reference stream and
prints each stream's ``time_offset_s`` and a confidence (0..1). ``--json FILE`` writes
``{"<stream>": {"offset_s", "confidence", ...}}`` to FILE (``-``: to stdout, instead of the
table); ``--write`` stores the offsets in the manifest (atomically; the reference keeps its own
offset).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.datasets.manifest import load_manifest, write_stream_offsets
from weldfusion.datasets.sync import ENVELOPE_RATE, MAX_OFFSET_S, estimate_offsets
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run
from weldfusion.tools.outputs import write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="weldfusion sync", description=description(__doc__))
    parser.add_argument("manifest", type=Path, help="recording.yaml")
    parser.add_argument("--reference", help="stream whose clock the others follow (default: the process-data "
                        "stream, else the manifest's first)")
    parser.add_argument("--write", action="store_true", help="write the offsets into the manifest")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the offsets as JSON to FILE (.json; - for stdout)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    parser.add_argument("--max-offset", type=float, default=MAX_OFFSET_S, help="largest offset searched (s)")
    parser.add_argument("--envelope-rate", type=float, default=ENVELOPE_RATE, help="common envelope rate (Hz)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not args.max_offset > 0 or not args.envelope_rate > 0:
        raise InvalidInput("--max-offset and --envelope-rate must be > 0")
    manifest = load_manifest(args.manifest)
    results = estimate_offsets(manifest, args.reference, envelope_rate=args.envelope_rate,
                               max_offset_s=args.max_offset, progress=not args.quiet)
    to_stdout = args.json is not None and str(args.json) == "-"
    if args.json is not None:
        write_json(args.json, {name: r.to_json() for name, r in results.items()}, force=args.force)
    if not to_stdout:
        reference = next(name for name, r in results.items() if r.feature == "reference")
        print(f"{'stream':<11} {'offset_s':>11} {'confidence':>10}  feature (vs {reference})")
        for name, r in results.items():
            print(f"{name:<11} {r.offset_s:>11.6f} {r.confidence:>10.3f}  {r.feature}")
    if args.write:
        write_stream_offsets(args.manifest, {name: r.offset_s for name, r in results.items()})
        if not to_stdout:
            print(f"wrote time_offset_s into {args.manifest}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run("sync", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
