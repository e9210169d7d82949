"""``weldfusion serve-replay RECORDING.h5 --lsl [PREFIX] [--speed S] [--stall MODALITY:START-END]``.

Publishes a recording as live Lab Streaming Layer outlets, one per sensor stream
(``PREFIX.<modality>``, default prefix ``weldfusion``), at its native rates on the wall clock —
camera frames one by one, signals in 10 ms packets — so the whole live path (``weldfusion stream
CHECKPOINT --lsl``) runs end to end on one machine. Keep LSL on the machine with an
``lsl_api.cfg`` holding ``ResolveScope = machine`` (``LSLAPICFG=path``). OPC UA is not built yet
(issue 12).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.stream import parse_stalls


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="weldfusion serve-replay", description=description(__doc__))
    p.add_argument("recording", type=Path, help="recording to publish (.h5)")
    p.add_argument("--lsl", nargs="?", const="weldfusion", metavar="PREFIX", required=True,
                   help="publish as LSL outlets PREFIX.<modality> (default prefix weldfusion)")
    p.add_argument("--speed", type=float, default=1.0, help="times real time (default 1)")
    p.add_argument("--lead-s", type=float, default=2.0, help="seconds between announcing the outlets and the "
                   "first sample, for receivers to connect (default 2)")
    p.add_argument("--stall", action="append", default=[], metavar="MODALITY:START-END",
                   help="the sensor sends nothing from START to END s (repeatable)")
    args = p.parse_args(argv)
    if not (args.speed > 0 and args.speed < 1e3):
        raise InvalidInput(f"--speed must be in (0, 1000), got {args.speed}")
    if not 0 <= args.lead_s <= 600:
        raise InvalidInput(f"--lead-s must be in [0, 600], got {args.lead_s}")
    if not args.recording.is_file():
        raise MissingInput(f"{args.recording}: no such recording file")
    stalls = parse_stalls(args.stall)
    # lazy: liblsl is loaded only when publishing
    from weldfusion.tools.streaming.lsl import serve_lsl

    print(f"publishing {args.recording} as LSL outlets {args.lsl}.<modality> at {args.speed:g}x real time",
          flush=True)
    sent = serve_lsl(args.recording, prefix=args.lsl, speed=args.speed, stalls=stalls, lead_s=args.lead_s)
    print(f"sent {sent} packets")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("serve-replay", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
