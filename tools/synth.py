"""``weldfusion synth --out DIR``: simulated multi-sensor weld recordings.

Writes ``DIR/<recording_id>.h5`` per run (ids like ``al-steel_gmaw_0003``) and ``DIR/summary.json``
(runs, durations, streams, label counts per class, defect prevalence per window), and prints a
summary table. Runs are simulated in ``--workers`` processes; every run is deterministic in
(seed, pair, process, run index, rates), whatever the number of workers or the pairs listed.

Examples::

    weldfusion synth --out data/sim                          # 3 pairs x 24 runs, demo rates
    weldfusion synth --out data/hs --pairs Al-steel --runs 2 --video-rate 2000 --ae-rate 500000
    weldfusion synth --out data/tig --pairs Ti-Ni:TIG,Cu-SS   # pair:process overrides the default
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from weldfusion.datasets.simulated import (
    VIDEO_FIELD_MM,
    SimConfig,
)
from weldfusion.datasets.simulated_set import format_table, generate_set, parse_duration, parse_pairs
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import MATERIAL_PAIRS
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import claim


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion synth", description=description(__doc__))
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--pairs", default=",".join(MATERIAL_PAIRS), help="comma list of PAIR or PAIR:PROCESS")
    p.add_argument("--runs", type=int, default=24, help="runs per pair (default 24)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--duration-s", default="8-12", help="run length, SECONDS or MIN-MAX (default 8-12)")
    p.add_argument("--video-rate", type=float, default=SimConfig.video_rate, help="frames/s (default 250)")
    p.add_argument("--video-size", type=int, default=SimConfig.video_shape[0],
                   help="camera frame side in px over the same 16 mm field of view (default 64; e.g. 128, 256)")
    p.add_argument("--thermal-rate", type=float, default=SimConfig.thermal_rate, help="frames/s (default 50)")
    p.add_argument("--acoustic-rate", type=float, default=SimConfig.acoustic_rate, help="microphone Hz (default 16000)")
    p.add_argument("--electrical-rate", type=float, default=SimConfig.electrical_rate, help="DAQ Hz (default 5000)")
    p.add_argument("--laser-monitor-rate", type=float, default=SimConfig.laser_monitor_rate,
                   help="laser runs: beam power + photodiodes Hz (default 10000)")
    p.add_argument("--fsw-machine-rate", type=float, default=SimConfig.fsw_machine_rate,
                   help="FSW machine data rate, Hz (friction stir welds only; default %(default)g)")
    p.add_argument("--ae-rate", type=float, default=0.0, help="acoustic-emission channel Hz, 0 = off (e.g. 500000)")
    p.add_argument("--missing-prob", type=float, default=SimConfig.missing_prob, help="share of runs missing one sensor")
    p.add_argument("--gap-prob", type=float, default=SimConfig.gap_prob, help="chance of dropouts per stream")
    p.add_argument("--spatter-scale", type=float, default=SimConfig.spatter_scale,
                   help="harder condition: background spatter x K (>= 1; default 1)")
    p.add_argument("--video-noise-scale", type=float, default=SimConfig.video_noise_scale,
                   help="harder condition: camera shot and read noise x K (default 1)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    p.add_argument("--force", action="store_true", help="overwrite existing recordings / summary.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pairs = parse_pairs(args.pairs)
    if args.runs < 1:
        raise InvalidInput(f"--runs must be >= 1, got {args.runs}")
    if args.workers < 1:
        raise InvalidInput(f"--workers must be >= 1, got {args.workers}")
    if not 16 <= args.video_size <= 512:
        raise InvalidInput(f"--video-size must be 16-512 px, got {args.video_size}")
    config = SimConfig(
        duration_s=parse_duration(args.duration_s),
        video_rate=args.video_rate,
        video_shape=(args.video_size, args.video_size),
        video_mm_per_px=VIDEO_FIELD_MM / args.video_size,
        thermal_rate=args.thermal_rate,
        acoustic_rate=args.acoustic_rate,
        electrical_rate=args.electrical_rate,
        ae_rate=args.ae_rate,
        laser_monitor_rate=args.laser_monitor_rate,
        fsw_machine_rate=args.fsw_machine_rate,
        missing_prob=args.missing_prob,
        gap_prob=args.gap_prob,
        spatter_scale=args.spatter_scale,
        video_noise_scale=args.video_noise_scale,
    )
    out = claim(Path(args.out))
    summary = generate_set(out, pairs, args.runs, args.seed, config, args.workers, args.force)
    results, elapsed = summary["runs"], summary["elapsed_s"]
    print(format_table(summary, results))
    print(f"\n{len(results)} recordings, {summary['total_duration_s']:.0f} s of welding data in {elapsed:.1f} s "
          f"({args.workers} workers) -> {out}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("synth", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
