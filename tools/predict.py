"""``weldfusion predict CHECKPOINT --data DIR|GLOB|FILE --out DIR [--workers N] [--onnx F] [--force]``:
weld-level results of a trained model on new (or labelled) welds.

Writes ``welds.csv`` (one row per weld: verdict, events per class, defect length in mm, heat
input), ``events.csv`` (every detected event: class, source ``model`` or ``limits``, start/end in
s and in mm along the seam, probabilities, the sensors that carried it), ``segments.csv`` (the
phase timeline), ``welds/<recording_id>.png`` (the timeline figure), ``report.html`` (one page,
worst welds first) and ``predict.json``. Recordings the checkpoint cannot score are listed with
the reason; the others go on. Events come from the same decision code as the live alarms of
``weldfusion stream``; the verdict from the recipe's ``accept:`` rules, the limit violations from
its ``limits:`` bands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.tools.cli import add_report_output, description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.streaming.defaults import HOP_S


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion predict", description=description(__doc__))
    p.add_argument("checkpoint", type=Path, help="best.pt / last.pt, or a run folder (uses its best.pt)")
    p.add_argument("--data", required=True, help="recordings: directory, glob, split list or one .h5 file")
    add_report_output(p)
    p.add_argument("--hop-s", type=float, default=HOP_S, help=f"seconds between windows (default {HOP_S}, as stream)")
    p.add_argument("--workers", type=int, default=1, help="processes scoring recordings in parallel, one torch thread "
                   "each (default 1: one process with torch's threads)")
    p.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default 32)")
    p.add_argument("--onnx", type=Path, help="run this ONNX export of the checkpoint with ONNX Runtime")
    p.add_argument("--no-figures", action="store_true", help="skip the timeline figures (faster; report without images)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="torch device (default cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # lazy: --help and argument errors answer without loading torch
    from weldfusion.tools.welds.predict import run_predict

    s = run_predict(args.checkpoint, args.data, args.out, hop_s=args.hop_s, batch_size=args.batch_size,
                    workers=args.workers, device=args.device, onnx=args.onnx, figures=not args.no_figures,
                    force=args.force, progress=not args.quiet)
    print(f"{s['n_welds']} weld(s) scored ({s['n_rejected']} rejected), {len(s['skipped'])} skipped; "
          f"{s['weld_seconds']:.0f} s of welding in {s['wall_s']:.1f} s ({s['realtime_factor']:.1f}x real time)")
    for path, reason in s["skipped"]:
        print(f"  skipped {path}: {reason}")
    m = s["metrics"]
    if m is not None:
        ev, seg = m["events"], m["segments"]
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"labelled welds: segments F1@0.50 {fmt(seg['f1@0.50'])}, edit {fmt(seg['edit'])}; events recall "
              f"{fmt(ev['recall'])}, precision {fmt(ev['precision'])}, false alarms/min {fmt(ev['false_alarms_per_min'])}, "
              f"median onset error {fmt(ev['onset_error_s']['median'])} s")
    print(f"wrote {args.out / 'report.html'}, welds.csv, events.csv, segments.csv")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("predict", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
