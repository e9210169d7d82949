"""``weldfusion serve-replay RECORDING.h5 [--lsl [PREFIX]] [--opcua [PORT] --opcua-map FILE.yaml] [--speed S]``.

Publishes a recording as live sensors at its native rates on the wall clock, so the whole live
path (``weldfusion stream CHECKPOINT --lsl ... --opcua FILE.yaml``) runs end to end on one
machine: ``--lsl`` as Lab Streaming Layer outlets (``PREFIX.<modality>``, default prefix
``weldfusion``; camera frames one by one, signals in 10 ms packets), ``--opcua`` the process data
(the electrical stream) as OPC UA nodes of a server on ``opc.tcp://127.0.0.1:PORT/weldfusion/``
(default port 4840) with the node map written to ``--opcua-map``. With both, the process data goes
over OPC UA and the other sensors over LSL, on one clock. Keep LSL on the machine with an
``lsl_api.cfg`` holding ``ResolveScope = machine`` (``LSLAPICFG=path``).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.tools.cli import description, parse_stalls
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="weldfusion serve-replay", description=description(__doc__))
    p.add_argument("recording", type=Path, help="recording to publish (.h5)")
    p.add_argument("--lsl", nargs="?", const="weldfusion", metavar="PREFIX",
                   help="publish as LSL outlets PREFIX.<modality> (default prefix weldfusion)")
    p.add_argument("--opcua", nargs="?", const=4840, type=int, metavar="PORT",
                   help="publish the process data on an OPC UA server at 127.0.0.1:PORT (default 4840)")
    p.add_argument("--opcua-map", type=Path, help="write the OPC UA node map here (.yaml; needed with --opcua)")
    p.add_argument("--force", action="store_true", help="overwrite --opcua-map")
    p.add_argument("--speed", type=float, default=1.0, help="times real time (default 1)")
    p.add_argument("--lead-s", type=float, default=2.0, help="seconds between announcing the sensors and the "
                   "first sample, for receivers to connect (default 2)")
    p.add_argument("--stall", action="append", default=[], metavar="MODALITY:START-END",
                   help="the sensor sends nothing from START to END s (repeatable; LSL outlets)")
    args = p.parse_args(argv)
    if args.lsl is None and args.opcua is None:
        raise InvalidInput("give --lsl, --opcua or both")
    if args.opcua is not None and args.opcua_map is None:
        raise InvalidInput("--opcua needs --opcua-map FILE.yaml (the node map for `stream --opcua`)")
    if args.opcua is not None and not 1 <= args.opcua <= 65535:
        raise InvalidInput(f"--opcua: port must be 1-65535, got {args.opcua}")
    if not 0 < args.speed < 1e3:
        raise InvalidInput(f"--speed must be in (0, 1000), got {args.speed}")
    if not 0 <= args.lead_s <= 600:
        raise InvalidInput(f"--lead-s must be in [0, 600], got {args.lead_s}")
    if not args.recording.is_file():
        raise MissingInput(f"{args.recording}: no such recording file")
    if args.opcua_map is not None:
        output_file(args.opcua_map, force=args.force, suffixes=(".yaml", ".yml"), inputs=[args.recording])
    stalls = parse_stalls(args.stall)
    # lazy: liblsl / asyncua are loaded only for the publishers asked for
    from weldfusion.datasets.reader import Recording

    with Recording(args.recording) as rec:
        names = list(rec.streams)
    start_at = time.time() + args.lead_s
    jobs, results, errors = [], {}, []
    if args.opcua is not None:
        # lazy: asyncua only when publishing over OPC UA
        from weldfusion.tools.streaming.opcua import serve_opcua

        ua_names = [n for n in names if n == "electrical"] if args.lsl is not None else None
        jobs.append(("opcua", serve_opcua, dict(port=args.opcua, names=ua_names, speed=args.speed,
                                                 map_path=str(args.opcua_map), start_at=start_at)))
    if args.lsl is not None:
        # lazy: liblsl only when publishing over LSL
        from weldfusion.tools.streaming.lsl import serve_lsl

        lsl_names = [n for n in names if n != "electrical"] if args.opcua is not None else None
        jobs.append(("lsl", serve_lsl, dict(prefix=args.lsl, names=lsl_names, speed=args.speed, stalls=stalls,
                                            start_at=start_at)))

    def work(kind, fn, kw):
        try:
            results[kind] = fn(args.recording, **kw)
        except BaseException as err:  # noqa: BLE001 - re-raised below
            errors.append(err)

    threads = [threading.Thread(target=work, args=job, daemon=True) for job in jobs]
    print(f"publishing {args.recording} at {args.speed:g}x real time: "
          + ", ".join(f"LSL outlets {args.lsl}.<modality>" if k == "lsl" else
                      f"OPC UA opc.tcp://127.0.0.1:{args.opcua}/weldfusion/ (node map {args.opcua_map})"
                      for k, _, _ in jobs), flush=True)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    print("sent " + ", ".join(f"{n} packets over {k.upper() if k == 'lsl' else 'OPC UA'}" for k, n in results.items()))
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("serve-replay", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
