"""``weldfusion inspect FILE.h5 [--plot PNG]``: streams, rates, gaps, labels and validator findings.

Prints one line per stream (samples, sample shape, dtype, rate, time span, units, channels,
gaps), the label counts and the validator's findings: problems (exit code 1 if there are any;
a file whose structure is broken gets only its problems) and warnings on implausible values
(temperatures above the materials' boiling points, currents or voltages outside the process's
range, streams whose spans disagree). Text from the file is printed with control characters
escaped. ``--plot``
draws every stream on the common time axis (frame means for images, block RMS for sound, each
electrical channel) with the phase labels as coloured bands and defects as hatched bands,
reading the file block by block.
"""

import argparse
import sys
from pathlib import Path

from weldfusion.datasets.reader import Recording
from weldfusion.datasets.validate import check
from weldfusion.tools.analysis.inspection import label_lines, plot, stream_lines
from weldfusion.tools.cli import description
from weldfusion.tools.errors import printable, run
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
    findings = check(args.recording)
    with Recording(args.recording, check=False) as rec:
        meta = rec.meta
        print(printable(f"{args.recording}: {meta.get('recording_id')}  {meta.get('material_pair')} "
                        f"({meta.get('material_a')} / {meta.get('material_b')})  {meta.get('process')}  "
                        f"source={meta.get('source')}"))
        if findings.sound:
            for line in stream_lines(rec) + label_lines(rec):
                print("  " + printable(line))
            if args.plot is not None:
                plot(rec, args.plot)
                print(f"wrote {args.plot}")
        elif args.plot is not None:
            print(f"no plot: {args.recording} has structural problems")
    for line in findings.warnings:
        print(f"warning: {printable(line)}")
    if findings.problems:
        print(f"validator: {len(findings.problems)} problem(s)")
        for p in findings.problems:
            print(f"  {printable(p)}")
        return 1
    print("validator: ok")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run("inspect", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
