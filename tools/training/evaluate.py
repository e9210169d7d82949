"""``weldfusion evaluate CHECKPOINT --data DIR|GLOB --out DIR``: metrics JSON, plots and a short report.

The library behind ``weldfusion evaluate`` (the verb only parses its arguments).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import DataLoader
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.outputs import output_dir, staged_output
from weldfusion.tools.streaming.defaults import HOP_S
from weldfusion.tools.training.data import build_data, split_files
from weldfusion.tools.training.distributed import resolve_device
from weldfusion.tools.training.evaluation import evaluate_predictions
from weldfusion.tools.training.loading import load_trained
from weldfusion.tools.training.localisation import localisation_scorer
from weldfusion.tools.training.plots import plot_confusion, plot_reliability
from weldfusion.tools.training.predict import measure_latency, predict
from weldfusion.tools.training.report import markdown_report
from weldfusion.tools.welds.predict import score_welds

SPLITS = ("test", "val", "train", "all")
#: Hop of the weld-level metrics (as weldfusion stream / predict run).
WELD_HOP_S = HOP_S


def prediction_table(pred: dict, phases: tuple[str, ...], defects: tuple[str, ...], thresholds: list[float]):
    """One row per window: recording, t0, true/predicted phase, phase confidence, defect truth/probability."""

    table = pd.DataFrame({
        "recording_id": pred["recording_id"], "material_pair": pred["material_pair"], "process": pred["process"],
        "t0_s": pred["t0"], "phase_true": [phases[i] for i in pred["phase"]],
        "phase_pred": [phases[i] for i in pred["phase_probs"].argmax(axis=1)],
        "phase_confidence": pred["phase_probs"].max(axis=1),
    })
    for d, name in enumerate(defects):
        table[f"{name}_true"] = pred["defects"][:, d].astype(int)
        table[f"{name}_prob"] = pred["defect_probs"][:, d]
        table[f"{name}_pred"] = (pred["defect_probs"][:, d] >= thresholds[d]).astype(int)
    return table.sort_values(["recording_id", "t0_s"], kind="stable")


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str, out: str | os.PathLike, *, split: str | None = None,
                        device: str = "auto", batch_size: int | None = None, progress: bool = True, force: bool = False) -> dict:
    """Evaluate ``checkpoint`` on the ``split`` recordings of ``data``; write everything to ``out``; return metrics.

    Nothing is written unless the whole evaluation succeeds (files are made in a temporary folder
    and moved into ``out`` at the end).
    """
    output_dir(out, force=force, inputs=[checkpoint, data])  # refuse before any work

    dev = resolve_device(device)
    trained = load_trained(checkpoint, dev)
    recipe = trained.recipe
    ecfg = recipe.eval
    split = split or ecfg.split
    bsz = batch_size if batch_size is not None else ecfg.batch_size
    if bsz < 1:
        raise InvalidInput(f"--batch-size must be >= 1, got {bsz}")
    if split != "all" and not split_files(recipe.data, data).get(split):
        n = len(split_files(recipe.data, data, "all")["all"])
        print(f"note: {data}: the {split} split of these {n} recording(s) is empty; scoring all of them "
              "(as --split all)")
        split = "all"
    bundle = build_data(recipe.data, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{data}: no labelled windows in the {split} split of these recordings "
                         "(use --split all for recordings the model was not split on)")
    if bundle.info.to_dict() != trained.info.to_dict():
        raise InvalidInput(f"{data}: windows do not match what {trained.path} was trained on "
                         f"(modalities/shapes/classes differ: {bundle.info} vs {trained.info})")
    info = trained.info
    loader = DataLoader(dataset, batch_size=bsz, shuffle=False, num_workers=0, pin_memory=dev.type == "cuda")
    amp = bool(recipe.train.amp and dev.type == "cuda")
    scorer = localisation_scorer(trained)
    with scorer.all_heads_on(trained.model) if scorer is not None else contextlib.nullcontext():
        pred = predict(trained.model, loader, dev, amp=amp, progress="evaluate" if progress else None, on_batch=scorer)
    metrics = evaluate_predictions(pred, info.phases, info.defects, trained.thresholds, ecfg.ece_bins, info.names)
    if scorer is not None:
        metrics.update(scorer.metrics())
    metrics["latency"] = measure_latency(trained.model, dataset, dev, n=ecfg.latency_windows, batch_size=bsz, amp=amp)
    windows = bundle.windows[split]
    # weld level: the phase timeline as segments, defects as events (as weldfusion predict finds them)
    weld = score_welds(trained, bundle.files[split], hop_s=WELD_HOP_S, batch_size=bsz, device=dev, progress=progress)
    if weld is not None:
        metrics.update(segments=weld["segments"], events=weld["events"], limits_events=weld["limits_events"],
                       weld_hop_s=WELD_HOP_S)
    metrics.update({
        "recipe": recipe.name, "checkpoint": str(trained.path),
        "epoch": trained.checkpoint.get("metrics", {}).get("epoch"),
        "data": str(data), "split": split, "thresholds": dict(zip(info.defects, trained.thresholds, strict=True)),
        "n_windows_without_phase_label": int(len(windows) - len(dataset)),
        "recordings": sorted(set(pred["recording_id"].tolist())),
        "torch": torch.__version__,
    })

    out = Path(out)
    with staged_output(out, force=force) as tmp:
        figures = {"phase confusion matrix": "confusion.png", "phase reliability diagram": "reliability.png"}
        plot_confusion(metrics["phase"]["confusion_matrix"], list(info.phases), tmp / "confusion.png")
        plot_reliability(metrics["calibration"], tmp / "reliability.png")
        prediction_table(pred, info.phases, info.defects, trained.thresholds).to_csv(tmp / "predictions.csv",
                                                                                   index=False, float_format="%.5g")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1))
        (tmp / "report.md").write_text(markdown_report(metrics, figures))
    return metrics
