"""``weldfusion inspect FILE.h5 [--plot PNG]``: streams, rates, gaps, labels and validator findings.

Prints one line per stream (samples, sample shape, dtype, rate, time span, units, channels,
gaps), the label counts and the validator's findings (exit code 1 if there are any). ``--plot``
draws every stream on the common time axis (frame means for images, block RMS for sound, each
electrical channel) with the phase labels as coloured bands and defects as hatched bands,
reading the file block by block.
"""

import argparse
import sys
from pathlib import Path

from weldfusion.datasets.reader import Recording
from weldfusion.datasets.validate import validate
from weldfusion.tools.analysis.inspection import label_lines, plot, stream_lines
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run
from weldfusion.tools.outputs import output_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="weldfusion inspect", description=description(__doc__))
    parser.add_argument("recording", type=Path, help="recording (.h5)")
    parser.add_argument("--plot", type=Path, help="write a PNG with all streams and labels (refused if it exists, "
                        "unless --force)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
    args = parser.parse_args(argv)
    if args.plot is not None:
        output_file(args.plot, force=args.force, suffixes=(".png",), inputs=[args.recording])
    problems = validate(args.recording)
    with Recording(args.recording) as rec:
        meta = rec.meta
        print(f"{args.recording}: {meta.get('recording_id')}  {meta.get('material_pair')} "
              f"({meta.get('material_a')} / {meta.get('material_b')})  {meta.get('process')}  "
              f"source={meta.get('source')}")
        for line in stream_lines(rec):
            print("  " + line)
        for line in label_lines(rec):
            print("  " + line)
        if args.plot is not None:
            plot(rec, args.plot)
            print(f"wrote {args.plot}")
    if problems:
        print(f"validator: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
        return 1
    print("validator: ok")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run("inspect", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
