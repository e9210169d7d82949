"""``weldfusion compare RUN_DIR [RUN_DIR ...] --data DIR --out DIR [--svm]``: models side by side (paper Table 5).

The library behind ``weldfusion compare`` (the verb only parses its arguments).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from weldfusion.recipes.config import to_dict
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.benchmarks.machine import machine
from weldfusion.tools.outputs import output_dir, staged_output
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.training.baseline_svm import evaluate_svm, fit_svm
from weldfusion.tools.training.data import build_data
from weldfusion.tools.training.distributed import resolve_device
from weldfusion.tools.training.evaluation import evaluate_predictions
from weldfusion.tools.training.loading import load_trained
from weldfusion.tools.training.predict import measure_latency, predict
from weldfusion.tools.welds.predict import score_welds

# data-config keys that decide which windows a model is scored on (hop_s is unified, path comes from --data)
SAME_DATA_KEYS = ("window_s", "split", "filter", "modalities", "pairs", "phases", "defects", "gap_threshold",
                  "defect_overlap_threshold")


ARCH_NAMES = {"msstan": "fusion"}


def model_name(arch: str, recipe_name: str, taken: set[str]) -> str:
    """Row name: ``fusion`` / the baseline arch; the recipe name when that is already taken."""
    name = ARCH_NAMES.get(arch, arch)
    if name in taken:
        name = f"{name}:{recipe_name}"
    k = 2
    base = name
    while name in taken:
        name, k = f"{base}#{k}", k + 1
    return name


def check_same_data(ref, cfg, ref_where: str, where: str) -> None:
    """``ValueError`` naming the first data-config key that would put different windows in the split."""

    a, b = to_dict(ref), to_dict(cfg)
    for key in SAME_DATA_KEYS:
        if a[key] != b[key]:
            raise InvalidInput(f"{where}: data.{key} differs from {ref_where} ({b[key]!r} vs {a[key]!r}); "
                             "runs must share the split to be compared")


def window_keys(pred: dict) -> list[tuple[str, float]]:
    """Sorted (recording_id, t0) of the scored windows."""
    return sorted(zip(pred["recording_id"].tolist(), np.round(pred["t0"].astype(np.float64), 6).tolist(),
                      strict=True))


def summary_row(name: str, arch: str, recipe: str, source: str, params: int | None, m: dict) -> dict:
    """One table row from a metrics tree."""
    ph, de = m["phase"], m["defect"]
    recalls = [c["recall"] for c in de["per_class"].values() if c["support"] > 0]
    return {
        "name": name, "arch": arch, "recipe": recipe, "source": source, "params": params,
        "phase": {"accuracy": ph["accuracy"], "recall_macro": ph["balanced_accuracy"], "macro_f1": ph["macro_f1"]},
        "defect": {"recall_mean": float(np.mean(recalls)) if recalls else None, "mean_f1": de["mean_f1"]},
        "ms_per_window": {"b1": m["latency"]["ms_per_window"], "batched": m["latency"]["ms_per_window_batched"],
                          "batch_size": m["latency"]["batch_size"], "threads_b1": m["latency"]["threads"]},
        "weld": None if m.get("segments") is None else {
            "segments_f1@0.50": m["segments"]["f1@0.50"], "events_recall": m["events"]["recall"],
            "events_precision": m["events"]["precision"], "false_alarms_per_min": m["events"]["false_alarms_per_min"],
            "onset_error_s": m["events"]["onset_error_s"]["median"]},
    }


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _threads_note(report: dict) -> str:
    """How the latency columns were timed: the threads ``measure_latency`` used for the first
    model's batch-1 passes (one on CPU, as the live monitor; the same for every torch model) and
    the threads of the batched passes."""
    b1 = report["models"][0]["ms_per_window"]["threads_b1"]
    return f"batch 1 on {b1} torch thread{'' if b1 == 1 else 's'}, batch 32 on {report['threads']}"


def markdown_table(report: dict) -> str:
    """The comparison as a markdown table (percentages, as the paper's Table 5) plus verdict lines."""
    intro = (f"{report['n_windows']} windows from {report['n_recordings']} held-out recordings, identical for every "
             f"model. Latency: {report['machine']['device']}, {_threads_note(report)}.")
    header = ("| model | recipe | params | phase acc. % | phase recall % | phase macro-F1 % | defect recall % | "
              "defect mean F1 % | ms/window b1 | ms/window b32 |")
    lines = [f"# Comparison on the {report['split']} split of `{report['data']}`", "", intro, "", header,
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["models"]:
        params = "–" if r["params"] is None else f"{r['params'] / 1e6:.2f} M"
        lines.append(f"| {r['name']} | {r['recipe']} | {params} | {_pct(r['phase']['accuracy'])} | "
                     f"{_pct(r['phase']['recall_macro'])} | {_pct(r['phase']['macro_f1'])} | "
                     f"{_pct(r['defect']['recall_mean'])} | {_pct(r['defect']['mean_f1'])} | "
                     f"{r['ms_per_window']['b1']:.1f} | {r['ms_per_window']['batched']:.1f} |")
    verdict = report.get("fusion_vs")
    if verdict:
        lines += ["", "| fusion vs | phase macro-F1 (points) | defect mean F1 (points) | speed-up at batch 1 |",
                  "|---|---|---|---|"]
        for name, v in verdict.items():
            dp = "–" if v["phase_macro_f1_points"] is None else f"{v['phase_macro_f1_points']:+.1f}"
            dd = "–" if v["defect_mean_f1_points"] is None else f"{v['defect_mean_f1_points']:+.1f}"
            lines.append(f"| {name} | {dp} | {dd} | {v['speedup_b1']:.2f}x |")
    weld_rows = [r for r in report["models"] if r.get("weld")]
    if weld_rows:
        lines += ["", "Weld level (hop 0.1 s, as predict / stream; rules in tools/welds/metrics.py):", "",
                  "| model | segments F1@0.50 | event recall | event precision | false alarms / min | median onset s |",
                  "|---|---|---|---|---|---|"]
        for r in weld_rows:
            w = r["weld"]
            fa = "–" if w["false_alarms_per_min"] is None else f"{w['false_alarms_per_min']:.2f}"
            onset = "–" if w["onset_error_s"] is None else f"{w['onset_error_s']:.3f}"
            lines.append(f"| {r['name']} | {_pct(w['segments_f1@0.50'])} | {_pct(w['events_recall'])} | "
                         f"{_pct(w['events_precision'])} | {fa} | {onset} |")
        lim = report.get("limits_events")
        if lim:
            fa = "–" if lim["false_alarms_per_min"] is None else f"{lim['false_alarms_per_min']:.2f}"
            lines.append(f"| limit bands (process data only) | – | {_pct(lim['recall'])} | {_pct(lim['precision'])} "
                         f"| {fa} | – |")
    note = ("Phase recall is the macro average over the phase classes (balanced accuracy); defect recall and "
            "F1 average the defect classes that occur (thresholds chosen on validation during training).")
    lines += ["", note, ""]
    return "\n".join(lines)


def fusion_verdict(models: list[dict]) -> dict:
    """For every other model: fusion's lead in F1 points and its batch-1 speed-up (empty without a fusion row)."""
    fusion = next((r for r in models if r["arch"] == "msstan"), None)
    if fusion is None:
        return {}
    out = {}
    for r in models:
        if r is fusion:
            continue
        d = {}
        for task, key in (("phase", "macro_f1"), ("defect", "mean_f1")):
            a, b = fusion[task][key], r[task][key]
            d[f"{task}_{key}_points"] = None if a is None or b is None else 100.0 * (a - b)
        d["speedup_b1"] = r["ms_per_window"]["b1"] / fusion["ms_per_window"]["b1"]
        out[r["name"]] = d
    return out


def compare(runs: list[Path], data: str, out: Path, *, svm: bool = False, split: str = "test",
            threads: int | None = None, latency_windows: int = 30, device: str = "cpu",
            progress: bool = True, force: bool = False) -> dict:
    """Score every run (and optionally the SVM baseline) on the same windows; write the table; return the report."""
    output_dir(out, force=force, inputs=[*runs, data])  # refuse before any work

    if latency_windows < 1:
        raise InvalidInput(f"--latency-windows must be >= 1, got {latency_windows}")
    if threads is not None and threads < 1:
        raise InvalidInput(f"--threads must be >= 1, got {threads}")
    dev = resolve_device(device)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        trained = [load_trained(r, dev) for r in runs]  # fail on a bad run before any work
        ref = trained[0]
        for t in trained[1:]:
            check_same_data(ref.recipe.data, t.recipe.data, str(ref.path), str(t.path))
        hop = ref.recipe.data.hop_s
        models, metrics, keys, taken = [], {}, None, set()
        for t in trained:
            cfg = dataclasses.replace(t.recipe.data, hop_s=hop)
            bundle = build_data(cfg, spec=data, norm=t.norm, splits=(split,), progress=progress)
            dataset = bundle.datasets[split]
            if dataset is None or len(dataset) == 0:
                raise InvalidInput(f"{data}: no labelled windows in the {split} split")
            if bundle.info.to_dict() != t.info.to_dict():
                raise InvalidInput(f"{data}: windows do not match what {t.path} was trained on")
            name = model_name(t.recipe.model.arch, t.recipe.name, taken)
            taken.add(name)
            loader = DataLoader(dataset, batch_size=t.recipe.eval.batch_size, shuffle=False, num_workers=0)
            pred = predict(t.model, loader, dev, progress=f"score {name}" if progress else None)
            if keys is None:
                keys = window_keys(pred)
            elif window_keys(pred) != keys:
                raise InvalidInput(f"{t.path}: scored windows differ from those of {ref.path}")
            m = evaluate_predictions(pred, t.info.phases, t.info.defects, t.thresholds, t.recipe.eval.ece_bins,
                                     t.info.names)
            m["latency"] = measure_latency(t.model, dataset, dev, n=latency_windows, batch_size=32)
            weld = score_welds(t, bundle.files[split], hop_s=HOP_S, device=dev, progress=progress)
            if weld is not None:
                m.update(segments=weld["segments"], events=weld["events"], limits_events=weld["limits_events"])
            m.update({"recipe": t.recipe.name, "arch": t.recipe.model.arch, "checkpoint": str(t.path),
                      "epoch": t.checkpoint.get("metrics", {}).get("epoch")})
            metrics[name] = m
            params = sum(p.numel() for p in t.model.parameters())
            models.append(summary_row(name, t.recipe.model.arch, t.recipe.name, str(t.path), params, m))
        if svm:

            cfg = dataclasses.replace(ref.recipe.data, hop_s=hop)
            bundle = build_data(cfg, spec=data, norm=ref.norm, splits=("train", "val", split), progress=progress)
            fitted = fit_svm(bundle, seed=ref.recipe.seed, progress=progress)
            m, pred = evaluate_svm(fitted, bundle.datasets[split], bundle.info, ece_bins=ref.recipe.eval.ece_bins,
                                   latency_windows=latency_windows, progress=progress)
            if window_keys(pred) != keys:
                raise InvalidInput(f"{data}: the SVM's scored windows differ from those of {ref.path}")
            m.update({"recipe": f"{ref.recipe.name} data + SVM", "arch": "svm"})
            metrics["svm"] = m
            models.append(summary_row("svm", "svm", f"{ref.recipe.name} (data)", "fitted by compare", None, m))
        first = next(iter(metrics.values()))
        limits = next((v["limits_events"] for v in metrics.values() if v.get("limits_events")), None)
        report = {"data": str(data), "split": split, "n_windows": first["n_windows"],
                  "n_recordings": first["n_recordings"], "recordings": sorted({k[0] for k in keys}),
                  "hop_s": hop, "machine": machine("cuda" if dev.type == "cuda" else "cpu"),
                  "threads": torch.get_num_threads(), "models": models, "fusion_vs": fusion_verdict(models),
                  "limits_events": limits}
    finally:
        torch.set_num_threads(previous_threads)
    with staged_output(out, force=force) as tmp:
        for name, m in metrics.items():
            folder = tmp / name.replace(":", "_").replace("#", "_")
            folder.mkdir()
            (folder / "metrics.json").write_text(json.dumps(m, indent=1))
        (tmp / "compare.json").write_text(json.dumps(report, indent=1))
        (tmp / "compare.md").write_text(markdown_table(report))
    return report
