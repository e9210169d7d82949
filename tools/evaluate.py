"""``weldfusion evaluate CHECKPOINT --data DIR|GLOB --out DIR``: metrics JSON, plots and a short report.

CHECKPOINT is a ``.pt`` file or a run folder (its ``best.pt``). The recordings matched by ``--data``
are split exactly as in training (the recipe's split-by-recording, seeded), and the ``--split``
part is scored (default ``test``: the held-out recordings); ``--split all`` scores every recording
(e.g. new data). Windows are normalised with the training run's statistics and defect decisions
use the per-class thresholds chosen on the validation split during training.

Writes ``DIR/metrics.json`` (``phase.accuracy``, ``phase.macro_f1``, ``defect.mean_f1``,
``calibration.ece``, ``latency.ms_per_window``, ``per_pair.<pair>.phase.macro_f1``, per-process,
per-class numbers, AUCs, confusion matrix), ``confusion.png``, ``reliability.png``,
``predictions.csv`` (one row per window) and ``report.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.staged_output import staged_output

SPLITS = ("test", "val", "train", "all")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion evaluate", description="Score a checkpoint on held-out "
                                "recordings: metrics.json, plots, report.md.")
    p.add_argument("checkpoint", type=Path, help="best.pt / last.pt, or a run folder (uses its best.pt)")
    p.add_argument("--data", required=True, help="recordings: directory, glob, split list or .h5 file")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--split", choices=SPLITS, help="which recordings to score (default: the recipe's eval.split, "
                   "normally test)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: the recipe's eval.batch_size)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def prediction_table(pred: dict, phases: tuple[str, ...], defects: tuple[str, ...], thresholds: list[float]):
    """One row per window: recording, t0, true/predicted phase, phase confidence, defect truth/probability."""
    import pandas as pd

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
                        device: str = "auto", batch_size: int | None = None, progress: bool = True) -> dict:
    """Evaluate ``checkpoint`` on the ``split`` recordings of ``data``; write everything to ``out``; return metrics.

    Nothing is written unless the whole evaluation succeeds (files are made in a temporary folder
    and moved into ``out`` at the end).
    """
    import torch
    from torch.utils.data import DataLoader
    from weldfusion.tools.training.data import build_data
    from weldfusion.tools.training.distributed import resolve_device
    from weldfusion.tools.training.evaluation import evaluate_predictions
    from weldfusion.tools.training.loading import info_to_dict, load_trained
    from weldfusion.tools.training.plots import plot_confusion, plot_reliability
    from weldfusion.tools.training.predict import measure_latency, predict
    from weldfusion.tools.training.report import markdown_report

    dev = resolve_device(device)
    trained = load_trained(checkpoint, dev)
    recipe = trained.recipe
    ecfg = recipe.eval
    split = split or ecfg.split
    bsz = batch_size or ecfg.batch_size
    if bsz < 1:
        raise InvalidInput(f"--batch-size must be >= 1, got {bsz}")
    bundle = build_data(recipe.data, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{data}: no labelled windows in the {split} split of these recordings "
                         "(use --split all for recordings the model was not split on)")
    if info_to_dict(bundle.info) != info_to_dict(trained.info):
        raise InvalidInput(f"{data}: windows do not match what {trained.path} was trained on "
                         f"(modalities/shapes/classes differ: {bundle.info} vs {trained.info})")
    info = trained.info
    loader = DataLoader(dataset, batch_size=bsz, shuffle=False, num_workers=0, pin_memory=dev.type == "cuda")
    amp = bool(recipe.train.amp and dev.type == "cuda")
    pred = predict(trained.model, loader, dev, amp=amp, progress="evaluate" if progress else None)
    metrics = evaluate_predictions(pred, info.phases, info.defects, trained.thresholds, ecfg.ece_bins, info.names)
    metrics["latency"] = measure_latency(trained.model, dataset, dev, n=ecfg.latency_windows, batch_size=bsz, amp=amp)
    windows = bundle.windows[split]
    metrics.update({
        "recipe": recipe.name, "checkpoint": str(trained.path),
        "epoch": trained.checkpoint.get("metrics", {}).get("epoch"),
        "data": str(data), "split": split, "thresholds": dict(zip(info.defects, trained.thresholds, strict=True)),
        "n_windows_without_phase_label": int(len(windows) - len(dataset)),
        "recordings": sorted(set(pred["recording_id"].tolist())),
        "torch": torch.__version__,
    })

    out = Path(out)
    with staged_output(out) as tmp:
        figures = {"phase confusion matrix": "confusion.png", "phase reliability diagram": "reliability.png"}
        plot_confusion(metrics["phase"]["confusion_matrix"], list(info.phases), tmp / "confusion.png")
        plot_reliability(metrics["calibration"], tmp / "reliability.png")
        prediction_table(pred, info.phases, info.defects, trained.thresholds).to_csv(tmp / "predictions.csv",
                                                                                   index=False, float_format="%.5g")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1))
        (tmp / "report.md").write_text(markdown_report(metrics, figures))
    return metrics


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    m = evaluate_checkpoint(args.checkpoint, args.data, args.out, split=args.split, device=args.device,
                            batch_size=args.batch_size, progress=not args.quiet)
    print(f"{m['split']} split: {m['n_windows']} windows from {m['n_recordings']} recordings")
    print(f"phase accuracy {m['phase']['accuracy']:.3f}  macro-F1 {m['phase']['macro_f1']:.3f}  |  defect mean F1 "
          f"{m['defect']['mean_f1'] if m['defect']['mean_f1'] is not None else float('nan'):.3f}  |  ECE "
          f"{m['calibration']['ece']:.3f}  |  {m['latency']['ms_per_window']:.2f} ms/window")
    for pair, g in m["per_pair"].items():
        print(f"  {pair:<10} phase macro-F1 {g['phase']['macro_f1']:.3f}  defect mean F1 "
              f"{g['defect']['mean_f1'] if g['defect']['mean_f1'] is not None else float('nan'):.3f}")
    print(f"wrote {args.out / 'metrics.json'}, {args.out / 'report.md'} and plots")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("evaluate", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
