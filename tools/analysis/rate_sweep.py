"""Rate sweep: does a model trained at the default sensor rates keep its answer at other rates?

One held-out set is simulated at the default rates (a seed the training data did not use) and,
with the same seed — the same scenarios, labels and every other sensor bit-identical — once per
(sensor, rate factor) with only that sensor's rate changed. The checkpoint scores every set
(all recordings, labels known); the table lists phase macro-F1 and defect mean F1 and their
change against the default-rate set.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from weldfusion.datasets.simulated import SimConfig
from weldfusion.datasets.simulated_set import generate_set
from weldfusion.datasets.simulator_checks import RATE_FIELDS
from weldfusion.recipes.taxonomy import MATERIAL_PAIRS
from weldfusion.sensors.materials import PAIRS
from weldfusion.tools.training.evaluate import evaluate_checkpoint

#: Held-out seed of the simulated sets (the demo trains on seed 0).
SWEEP_SEED = 1000


def sweep_sets(work: Path, modalities: list[str], factors: list[float], runs: int, seed: int,
               workers: int, progress: bool, duration_s: tuple[float, float] | None = None) -> list[dict]:
    """Simulate the default-rate set and one set per (modality, factor) under ``work``; returns the jobs."""
    base = SimConfig() if duration_s is None else SimConfig(duration_s=duration_s)
    pairs = [(p, PAIRS[p].default_process) for p in MATERIAL_PAIRS]  # the demo model's pairs
    jobs = [{"modality": "default", "factor": 1.0, "rate_hz": None, "config": base}]
    for m in modalities:
        field = RATE_FIELDS[m]
        for f in factors:
            rate = getattr(base, field) * f
            jobs.append({"modality": m, "factor": f, "rate_hz": rate, "config": dataclasses.replace(base, **{field: rate})})
    for job in jobs:
        job["data"] = work / (f"{job['modality']}_x{job['factor']:g}" if job["rate_hz"] else "default")
        generate_set(job["data"], pairs, runs, seed, job["config"], workers=workers, force=True, progress=progress)
    return jobs


def rate_sweep(checkpoint: str | os.PathLike, out: str | os.PathLike, *, modalities: list[str],
               factors: list[float], runs: int = 6, seed: int = SWEEP_SEED, workers: int = 2,
               device: str = "auto", progress: bool = True, duration_s: tuple[float, float] | None = None) -> dict:
    """Run the sweep into ``out`` (``data/`` sets, ``eval/`` reports); returns the result table.

    ``duration_s`` (min, max) overrides the simulator's default run length (8-12 s).

    Returns: ``{"seed", "runs_per_pair", "rows": [{modality, factor, rate_hz, phase_macro_f1,
    defect_mean_f1, d_phase, d_defect}, ...]}`` (deltas in points against the default set).
    """
    out = Path(out)
    unknown = [m for m in modalities if m not in RATE_FIELDS]
    if unknown:
        raise ValueError(f"unknown sensor(s) {', '.join(unknown)}; known: {', '.join(RATE_FIELDS)}")
    jobs = sweep_sets(out / "data", modalities, factors, runs, seed, workers, progress, duration_s)
    rows = []
    for job in jobs:
        name = job["data"].name
        metrics = evaluate_checkpoint(checkpoint, str(job["data"]), out / "eval" / name, split="all", device=device,
                                      progress=progress, force=True)
        rows.append({"modality": job["modality"], "factor": job["factor"], "rate_hz": job["rate_hz"],
                     "phase_macro_f1": metrics["phase"]["macro_f1"], "defect_mean_f1": metrics["defect"]["mean_f1"]})
    ref = rows[0]
    for r in rows:
        r["d_phase"] = 100.0 * (r["phase_macro_f1"] - ref["phase_macro_f1"])
        r["d_defect"] = 100.0 * (r["defect_mean_f1"] - ref["defect_mean_f1"])
    return {"seed": seed, "runs_per_pair": runs, "rows": rows}


def format_table(result: dict) -> str:
    """Markdown table of a :func:`rate_sweep` result."""
    lines = ["| sensor | rate factor | rate (Hz) | phase macro-F1 | defect mean F1 | change (points) |",
             "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        rate = "default" if r["rate_hz"] is None else f"{r['rate_hz']:g}"
        lines.append(f"| {r['modality']} | {r['factor']:g}x | {rate} | {r['phase_macro_f1']:.3f} | "
                     f"{r['defect_mean_f1']:.3f} | {r['d_phase']:+.1f} / {r['d_defect']:+.1f} |")
    return "\n".join(lines)
