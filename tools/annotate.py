"""``weldfusion annotate CHECKPOINT RECORDING.h5 --out FILE.mp4 [--start S] [--end S] [--truth] [--box-score P] [--fps 25] [--force]``:
the recording's video (and IR side by side) with the model's spatial attention as a heat overlay,
the refined phase, the open alarms and the fusion's modality weights, frame by frame.

``--truth`` draws the simulator's ground-truth boxes too (simulated recordings). Every stored frame
is drawn and the mp4 plays at ``--fps`` (a 250 fps camera at 25 fps is 10x slow motion). A model
with a box head (recipe ``fusion_localisation``) also has its predicted boxes drawn (score >= ``--box-score``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.streaming.defaults import HOP_S


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion annotate", description=description(__doc__))
    p.add_argument("checkpoint", type=Path, help="best.pt / last.pt, or a run folder (uses its best.pt)")
    p.add_argument("recording", type=Path, help="recording (.h5) with a video stream")
    p.add_argument("--out", required=True, type=Path, help="the annotated video (.mp4)")
    p.add_argument("--start", type=float, help="first second to draw (default: the video's start)")
    p.add_argument("--end", type=float, help="last second to draw (default: the video's end)")
    p.add_argument("--hop-s", type=float, default=HOP_S, help=f"seconds between windows (default {HOP_S}, as stream)")
    p.add_argument("--fps", type=float, default=25.0, help="playback frames per second of the mp4 (default 25)")
    p.add_argument("--truth", action="store_true", help="draw the simulator's ground-truth boxes (/truth/*_boxes)")
    p.add_argument("--box-score", type=float, default=0.5,
                   help="least score of a predicted box drawn (models with a box head; default 0.5)")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.box_score <= 1.0:
        from weldfusion.recipes.errors import InvalidInput  # lazy: the error path only

        raise InvalidInput(f"--box-score must be in [0, 1], got {args.box_score}")
    if not args.hop_s > 0:
        from weldfusion.recipes.errors import InvalidInput  # lazy: the error path only

        raise InvalidInput(f"--hop-s must be > 0, got {args.hop_s}")
    # lazy: --help and argument errors answer without loading torch
    from weldfusion.tools.analysis.annotate import annotate

    s = annotate(args.checkpoint, args.recording, args.out, start_s=args.start, end_s=args.end, hop_s=args.hop_s,
                 fps=args.fps, truth=args.truth, force=args.force, progress=not args.quiet, box_score=args.box_score)
    print(f"wrote {args.out}: {s['frames']} frames ({s['start_s']:.2f}-{s['end_s']:.2f} s) at {s['fps']:g} fps; "
          f"attention of {', '.join(s['attention']) or 'no MS-STAN encoder'}"
          + (f"; truth boxes of {', '.join(s['truth'])}" if s["truth"] else "")
          + (f"; predicted boxes of {', '.join(s['predicted_boxes'])}" if s["predicted_boxes"] else ""))
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("annotate", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
