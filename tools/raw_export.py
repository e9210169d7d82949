"""``weldfusion raw-export RECORDING.h5 OUT_DIR [--no-offsets] [--wav-subtype PCM_24] [--coco] [--force]``:
a recording -> the raw files a lab would have (mp4, 16-bit TIFF, WAV, CSV) + ``recording.yaml``;
``--coco`` adds the video frames as PNGs and the simulator's ground-truth boxes of both cameras as COCO JSON.

The inverse of ``ingest`` (round-trip tests, sync tests): ``--no-offsets`` leaves the streams'
clock offsets out of the manifest, so that ``weldfusion sync`` has something to find.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.datasets.raw_export import WAV_SUBTYPES, export_raw
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import claim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="weldfusion raw-export", description=description(__doc__))
    parser.add_argument("recording", type=Path, help="recording (.h5)")
    parser.add_argument("out_dir", type=Path, help="folder for the raw files and recording.yaml (created)")
    parser.add_argument("--no-offsets", action="store_true",
                        help="leave the clock offsets out of the manifest (for weldfusion sync)")
    parser.add_argument("--wav-subtype", choices=WAV_SUBTYPES, default="FLOAT",
                        help="WAV sample format: FLOAT (32-bit Pa) or PCM_24 (scaled to the peak)")
    parser.add_argument("--coco", action="store_true",
                        help="also write video_frames/*.png and the simulator's boxes as {video,thermal}_boxes.coco.json")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT_DIR")
    args = parser.parse_args(argv)
    claim(args.out_dir)
    manifest = export_raw(args.recording, args.out_dir, include_offsets=not args.no_offsets,
                          wav_subtype=args.wav_subtype, force=args.force, coco=args.coco)
    print(f"wrote {manifest}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("raw-export", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
