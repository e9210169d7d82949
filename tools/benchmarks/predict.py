"""``weldfusion bench predict``: seconds of weld scored per second of wall time by ``predict``.

Scores recordings with the demo recipe's model (untrained: the speed does not depend on the
weights) at hop 0.1 s, as ``weldfusion predict`` does without figures: windows, model, refinement,
events, seam positions, limit bands, verdicts. ``--predict-data DIR`` times a folder of recordings
(e.g. the quick start's ``out/demo/data``, the default data set); otherwise ``--predict-runs`` runs
per material pair are simulated first (not timed).

Results: ``predict.realtime_factor`` (weld seconds / wall seconds), ``predict.weld_seconds``,
``predict.wall_s``, ``predict.windows_per_s``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
from weldfusion.datasets.splits import resolve_files
from weldfusion.recipes.taxonomy import MATERIAL_PAIRS
from weldfusion.recipes.tree import load_recipe
from weldfusion.tools.benchmarks.stream import untrained
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.welds.predict import score_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predict-data", type=Path, help="recordings to score (default: simulate --predict-runs per pair)")
    parser.add_argument("--predict-workers", type=int, default=1, help="processes scoring welds (default 1)")
    parser.add_argument("--predict-runs", type=int, default=4, help="simulated runs per pair when no --predict-data (default 4)")


def run(args) -> list[dict]:
    """Rows ``{"name", "value", "unit"}``."""
    quick = getattr(args, "quick", False)
    with tempfile.TemporaryDirectory(prefix="weldfusion-bench-predict-") as tmp:
        if getattr(args, "predict_data", None) is not None:
            files = resolve_files(args.predict_data)
        else:
            runs = 1 if quick else max(1, getattr(args, "predict_runs", 4))
            files = []
            for pair in MATERIAL_PAIRS:
                for i in range(runs):
                    r = simulate_run(pair, None, i, 0, SimConfig(), duration_s=4.0 if quick else None)
                    files.append(write_run(r, Path(tmp) / f"{r.recording_id}.h5"))
        trained = untrained(load_recipe("fusion_all"), Path(files[0]))
        results, skipped, wall = score_files(trained, files, hop_s=HOP_S, workers=max(1, getattr(args, "predict_workers", 1)))
    weld_s = sum(r["duration_s"] for r in results)
    windows = sum(len(r["timeline"].t0) for r in results)
    return [{"name": "predict.realtime_factor", "value": weld_s / wall, "unit": "x"},
            {"name": "predict.weld_seconds", "value": weld_s, "unit": "s"},
            {"name": "predict.wall_s", "value": wall, "unit": "s"},
            {"name": "predict.windows_per_s", "value": windows / wall, "unit": "windows/s"},
            {"name": "predict.skipped", "value": float(len(skipped)), "unit": "count"}]
