"""``weldfusion synth --out DIR``: simulated multi-sensor weld recordings.

The library behind ``weldfusion synth`` (the verb only parses its arguments).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm
from weldfusion.datasets.config import DataConfig
from weldfusion.datasets.labels import IGNORE_PHASE, defect_labels, phase_labels, window_starts
from weldfusion.datasets.simulated import (
    SIMULATED,
    SimConfig,
    recording_id,
    simulate_run,
    write_run,
)
from weldfusion.recipes.errors import InvalidInput, OutputExists
from weldfusion.recipes.files import atomic_write_text, remove_stale_temporaries
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, LabelInterval, process_taxonomy
from weldfusion.sensors.materials import get_pair

#: Windows and label rules of the summary: the recipe defaults of ``data:``.
WINDOWS = DataConfig()


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``"Al-steel,Ti-Ni:TIG"`` -> [("Al-steel", "GMAW"), ("Ti-Ni", "TIG")] (process defaults per pair)."""
    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, _, process = item.partition(":")
        spec = get_pair(name.strip())
        process = process.strip() or spec.default_process
        spec.params(process)
        if (spec.name, process) in out:
            raise InvalidInput(f"--pairs: {item!r} listed twice")
        out.append((spec.name, process))
    if not out:
        raise InvalidInput("--pairs: no material pair given")
    return out


def parse_duration(text: str) -> tuple[float, float]:
    """``"10"`` -> (10, 10); ``"8-12"`` -> (8, 12) seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(?:-\s*([0-9.]+)\s*)?", text)
    if not m:
        raise InvalidInput(f"--duration-s: expected SECONDS or MIN-MAX, got {text!r}")
    lo = float(m.group(1))
    hi = float(m.group(2)) if m.group(2) else lo
    if not 3.0 <= lo <= hi <= 600.0:
        raise InvalidInput(f"--duration-s: need 3 <= MIN <= MAX <= 600 s, got {text!r}")
    return lo, hi


def _job(pair: str, process: str, index: int, seed: int, config: SimConfig, path: str, overwrite: bool) -> dict:
    t0 = time.perf_counter()
    with threadpool_limits(1):  # one run per process: BLAS threads would only contend
        run = simulate_run(pair, process, index, seed, config)
        write_run(run, path, overwrite=overwrite)
    return _run_summary(run, Path(path), time.perf_counter() - t0)


def _run_summary(run, path: Path, seconds: float) -> dict:
    duration = run.scenario.duration_s
    return {
        "recording_id": run.recording_id,
        "file": path.name,
        "pair": run.meta.material_pair,
        "process": run.meta.process,
        "duration_s": round(duration, 4),
        "missing": run.missing,
        "streams": {
            name: {
                "rate": s.rate,
                "shape": list(s.data.shape),
                "dtype": str(s.data.dtype),
                "gaps": len(s.gaps),
                "gap_s": round(float(np.sum(s.gaps[:, 1] - s.gaps[:, 0])) if len(s.gaps) else 0.0, 4),
                "sim_clock_offset_s": round(s.clock_offset_s, 6),
            }
            for name, s in run.streams.items()
        },
        "phases": [[p.start_s, p.end_s, p.label] for p in run.phases],
        "defects": [[d.start_s, d.end_s, d.label] for d in run.defects],
        "bytes": path.stat().st_size,
        "seconds": round(seconds, 3),
    }


def dataset_summary(runs: list[dict]) -> dict:
    """Counts and per-window prevalence over all runs (the windows and label rules of the recipe
    defaults, :mod:`weldfusion.datasets.labels`; windows that no phase overlaps are not counted)."""
    phase_names, defect_names = summary_names(runs)
    phase_s, phase_n = Counter(), Counter()
    defect_s, defect_n = Counter(), Counter()
    win_phase, win_defect = Counter(), Counter()
    n_windows = n_any = 0
    for r in runs:
        tax = process_taxonomy(r["process"])
        phases = [LabelInterval(*p) for p in r["phases"]]
        defects = [LabelInterval(*d) for d in r["defects"]]
        for p in phases:
            phase_s[p.label] += p.end_s - p.start_s
            phase_n[p.label] += 1
        for d in defects:
            defect_s[d.label] += d.end_s - d.start_s
            defect_n[d.label] += 1
        t0 = window_starts((0.0, r["duration_s"]), WINDOWS.window_s, WINDOWS.hop_s)
        ph = phase_labels(phases, t0, WINDOWS.window_s, tax.phases)
        hot = defect_labels(defects, t0, WINDOWS.window_s, tax.defects, WINDOWS.defect_overlap_threshold)
        labelled = ph != IGNORE_PHASE
        n_windows += int(labelled.sum())
        n_any += int(hot[labelled].any(axis=1).sum())
        for k in ph[labelled]:
            win_phase[tax.phases[k]] += 1
        for i, name in enumerate(tax.defects):
            win_defect[name] += int(hot[labelled, i].sum())
    pairs = Counter(r["pair"] for r in runs)
    return {
        "n_runs": len(runs),
        "total_duration_s": round(sum(r["duration_s"] for r in runs), 3),
        "runs_per_pair": dict(pairs),
        "stream_presence": {m: sum(m in r["streams"] for r in runs) for m in SIMULATED},
        "runs_with_gaps": {m: sum(r["streams"].get(m, {}).get("gaps", 0) > 0 for r in runs) for m in SIMULATED},
        "label_counts": {
            "phases": {k: {"intervals": phase_n[k], "seconds": round(phase_s[k], 3), "windows": win_phase[k]}
                       for k in phase_names},
            "defects": {k: {"events": defect_n[k], "seconds": round(defect_s[k], 3), "windows": win_defect[k]}
                        for k in defect_names},
        },
        "defect_prevalence": {
            "window_s": WINDOWS.window_s,
            "hop_s": WINDOWS.hop_s,
            "min_overlap": WINDOWS.defect_overlap_threshold,
            "windows": n_windows,
            "any": round(n_any / max(n_windows, 1), 4),
            **{k: round(win_defect[k] / max(n_windows, 1), 4) for k in defect_names},
        },
    }


def summary_names(runs: list[dict]) -> tuple[list[str], list[str]]:
    """Phase and defect names of the taxonomies of the runs' processes, in taxonomy order, each once."""
    phases: dict[str, None] = {}
    defects: dict[str, None] = {}
    for tax in dict.fromkeys(process_taxonomy(r["process"]) for r in runs) or [DEFAULT_TAXONOMY]:
        phases.update(dict.fromkeys(tax.phases))
        defects.update(dict.fromkeys(tax.defects))
    return list(phases), list(defects)


def format_table(summary: dict, runs: list[dict]) -> str:
    phase_names, defect_names = summary_names(runs)
    lines = [f"{'pair':<10} {'process':<7} {'runs':>4} {'seconds':>8} {'missing':>8} {'gappy':>6} {'defects':>8} {'MB':>7}"]
    for (pair, process) in Counter((r["pair"], r["process"]) for r in runs):
        rs = [r for r in runs if r["pair"] == pair and r["process"] == process]
        lines.append(
            f"{pair:<10} {process:<7} {len(rs):>4} {sum(r['duration_s'] for r in rs):>8.1f} "
            f"{sum(bool(r['missing']) for r in rs):>8} {sum(any(s['gaps'] for s in r['streams'].values()) for r in rs):>6} "
            f"{sum(len(r['defects']) for r in rs):>8} {sum(r['bytes'] for r in rs) / 1e6:>7.1f}"
        )
    lc = summary["label_counts"]
    nw = summary["defect_prevalence"]["windows"]
    lines.append("")
    lines.append(f"{'phase':<17} {'intervals':>9} {'seconds':>8} {'windows':>8}")
    for k in phase_names:
        c = lc["phases"][k]
        lines.append(f"{k:<17} {c['intervals']:>9} {c['seconds']:>8.1f} {c['windows']:>8}")
    lines.append("")
    lines.append(f"{'defect':<17} {'events':>9} {'seconds':>8} {'windows':>8} {'prevalence':>10}")
    for k in defect_names:
        c = lc["defects"][k]
        lines.append(f"{k:<17} {c['events']:>9} {c['seconds']:>8.1f} {c['windows']:>8} {c['windows'] / max(nw, 1):>10.1%}")
    lines.append(f"{'any defect':<17} {'':>9} {'':>8} {'':>8} {summary['defect_prevalence']['any']:>10.1%}")
    return "\n".join(lines)


def _die_with_parent() -> None:
    """Pool-worker initializer: on Linux the kernel stops the worker when synth dies (even by
    ``kill -9``), so no simulation runs on as an orphan; elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def generate_set(out: str | os.PathLike, pairs: list[tuple[str, str]], runs: int, seed: int, config: SimConfig,
                 workers: int = 1, force: bool = False, progress: bool = True) -> dict:
    """Simulate ``runs`` recordings per (pair, process) into ``out`` and write ``out/summary.json``.

    Existing recordings of the same names (or ``summary.json``) are refused unless ``force``. The
    set is one output: if the run fails (disk full, Ctrl-C, a bug) the recordings it wrote are
    removed again, and ``out`` too if it created it. Temporaries of killed runs are cleared first.
    Returns the summary (as written).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out}: exists and is not a directory")
    jobs = [(pair, proc, i) for pair, proc in pairs for i in range(runs)]
    targets = [out / f"{recording_id(pair, proc, i)}.h5" for pair, proc, i in jobs]
    if not force:
        existing = [p for p in [*targets, out / "summary.json"] if p.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise OutputExists(f"{existing[0]}: exists{more}; use --force to overwrite")
    created = not out.exists()
    before = {p for p in targets if p.exists()}
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    t0 = time.perf_counter()
    results: list[dict] = []
    bar = tqdm(total=len(jobs), unit="run", desc="synth", file=sys.stderr, disable=not progress)
    try:
        if workers == 1:
            for (pair, proc, i), path in zip(jobs, targets, strict=True):
                results.append(_job(pair, proc, i, seed, config, str(path), force))
                bar.set_postfix_str(results[-1]["recording_id"])
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent) as pool:
                futures = [pool.submit(_job, pair, proc, i, seed, config, str(path), force)
                           for (pair, proc, i), path in zip(jobs, targets, strict=True)]
                try:
                    for fut in as_completed(futures):
                        results.append(fut.result())
                        bar.set_postfix_str(results[-1]["recording_id"])
                        bar.update()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        bar.close()
        elapsed = time.perf_counter() - t0
        results.sort(key=lambda r: r["recording_id"])
        summary = {
            "seed": seed,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()},
            **dataset_summary(results),
            "elapsed_s": round(elapsed, 2),
            "workers": workers,
            "runs": results,
        }
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    except BaseException:
        bar.close()
        for path in targets:
            if path not in before:
                path.unlink(missing_ok=True)
        remove_stale_temporaries(out)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return summary
