"""``weldfusion transfer RECIPE --data DIR|GLOB --out DIR``: adapt to an unseen material pair with few labels.

The library behind ``weldfusion transfer`` (the verb only parses its arguments).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader
from weldfusion.datasets.config import FilterConfig
from weldfusion.datasets.splits import resolve_files, scan
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.analysis.ablation import retrain, score_model
from weldfusion.tools.analysis.embedding_plot import pair_silhouette, plot_embeddings, project, subsample
from weldfusion.tools.analysis.report import plot_transfer, transfer_markdown
from weldfusion.tools.analysis.transfer import fraction_tag, load_transfer_recipe, run_plan, stage_recipe
from weldfusion.tools.outputs import output_dir, staged_output
from weldfusion.tools.training.data import build_data, label_fraction_indices
from weldfusion.tools.training.distributed import resolve_device
from weldfusion.tools.training.loading import checkpoint_path, load_trained
from weldfusion.tools.training.predict import predict


def score_on(trained, data_cfg, data: str, split: str, device, progress: bool) -> tuple[dict, list[Path]]:
    """(flat metrics, recording files) of a loaded model on ``split`` of ``data`` windowed and filtered by
    ``data_cfg``, normalised with the model's own statistics."""

    bundle = build_data(data_cfg, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    ds = bundle.datasets[split]
    if ds is None or len(ds) == 0:
        raise InvalidInput(f"{data}: no labelled windows of pairs {data_cfg.filter.pairs} in the {split} split")
    if bundle.info.to_dict() != trained.info.to_dict():
        raise InvalidInput(f"{trained.path}: model was trained on other windows than the transfer recipe makes "
                         f"({trained.info} vs {bundle.info})")
    info = trained.info
    loader = DataLoader(ds, batch_size=trained.recipe.eval.batch_size, shuffle=False)
    row = score_model(trained.model, loader, device, names=info.names, phases=info.phases, defects=info.defects,
                      thresholds=trained.thresholds, keep=[True] * len(info.names),
                      progress="score" if progress else None)
    row["n_recordings"] = len(bundle.files[split])
    return row, bundle.files[split]


def labelled_counts(recipe, norm, progress: bool) -> tuple[int, int]:
    """(recordings, windows) that keep their labels in the training split of a target-pair stage recipe."""

    bundle = build_data(recipe.data, norm=norm, splits=("train",), progress=progress)
    ds = bundle.windows["train"]
    t = recipe.train
    keep = label_fraction_indices(ds, t.label_fraction, t.label_fraction_unit, t.label_fraction_seed)
    rec_of = np.array([rid for rid, _ in ds.window_index], dtype=object)
    return len(set(rec_of[keep].tolist())), int(len(keep))


def embeddings(trained, data_cfg, files: list, device, progress: bool):
    """(embeddings (N, E), material pairs (N,)) of the windows of ``files`` under ``trained``."""

    cfg = dataclasses.replace(data_cfg, filter=FilterConfig())
    bundle = build_data(cfg, spec=[str(f) for f in files], norm=trained.norm, splits=("all",), progress=progress)
    loader = DataLoader(bundle.datasets["all"], batch_size=trained.recipe.eval.batch_size, shuffle=False)
    pred = predict(trained.model, loader, device, keep=("embedding",), progress="embed" if progress else None)
    return pred["embedding"], pred["material_pair"]


def _diff(a, b):
    return None if a is None or b is None else float(a - b)


def transfer(recipe: str | os.PathLike, data: str, out: str | os.PathLike, *, overrides=(),
             pretrained: str | os.PathLike | None = None, progress: bool = True, force: bool = False) -> dict:
    """Run a transfer recipe on ``data`` (see module docstring); write the report to ``out``; return the tree."""
    output_dir(out, force=force, inputs=[data])  # refuse before any work

    tr = load_transfer_recipe(recipe, list(overrides))
    cfg = tr.transfer
    have = {e.material_pair for e in scan(resolve_files(data))}
    need = [cfg.target_pair] + ([] if pretrained is not None else list(cfg.source_pairs))
    missing = [p for p in need if p not in have]
    if missing:
        raise InvalidInput(f"{data}: no recordings of pair {missing[0]!r} (have {', '.join(sorted(have))})")
    dev = resolve_device(tr.train.device)
    out = Path(out)
    run_root = out / "runs"

    if pretrained is not None:
        pre_ck = checkpoint_path(pretrained)
        load_trained(pre_ck, "cpu")  # a bad file fails here, before any training
    else:
        pre_ck = retrain(stage_recipe(tr, "pretrain", data), run_root / "pretrain", progress)
    pre = load_trained(pre_ck, dev)
    target_cfg = stage_recipe(tr, "scratch", data).data  # target-pair windows and split, shared by every run
    source_cfg = dataclasses.replace(pre.recipe.data, filter=dataclasses.replace(
        pre.recipe.data.filter, pairs=list(cfg.source_pairs)))
    source, source_files = score_on(pre, source_cfg, data, "test", dev, progress)
    zero, target_files = score_on(pre, target_cfg, data, "test", dev, progress)

    results: dict[tuple[str, float], dict] = {}
    checkpoints: dict[tuple[str, float], Path] = {}
    counts: dict[float, tuple[int, int]] = {}
    for stage, f in run_plan(tr):
        r = stage_recipe(tr, stage, data, fraction=f, init_from=pre_ck)
        ck = retrain(r, run_root / f"{stage}_{fraction_tag(f)}", progress)
        model = load_trained(ck, dev)
        results[(stage, f)], _ = score_on(model, target_cfg, data, "test", dev, progress)
        results[(stage, f)]["run"] = str(ck)
        checkpoints[(stage, f)] = ck
        if f not in counts:
            counts[f] = labelled_counts(r, model.norm, progress)

    full = results[("scratch", 1.0)] if ("scratch", 1.0) in results else results[("finetune", 1.0)]
    rows = []
    for f in sorted(cfg.label_fractions):
        ft, sc = results[("finetune", f)], results[("scratch", f)]
        rec = None if not full["phase.macro_f1"] else ft["phase.macro_f1"] / full["phase.macro_f1"]
        rows.append({"fraction": f, "n_recordings": counts[f][0], "n_windows": counts[f][1], "finetune": ft,
                     "scratch": sc, "gain.phase.macro_f1": _diff(ft["phase.macro_f1"], sc["phase.macro_f1"]),
                     "gain.phase.accuracy": _diff(ft["phase.accuracy"], sc["phase.accuracy"]),
                     "gain.defect.mean_f1": _diff(ft["defect.mean_f1"], sc["defect.mean_f1"]),
                     "recovery.phase.macro_f1": rec,
                     "recovery.defect.mean_f1": (None if not full["defect.mean_f1"] or ft["defect.mean_f1"] is None
                                                 else ft["defect.mean_f1"] / full["defect.mean_f1"])})
    check = next(r for r in rows if r["fraction"] == cfg.check_fraction)

    emb_files = [*source_files, *target_files]
    tuned = load_trained(checkpoints[("finetune", cfg.check_fraction)], dev)
    panels, silhouette = [], {}
    for title, model in ((f"pre-trained on {', '.join(cfg.source_pairs)}", pre),
                         (f"fine-tuned on {cfg.check_fraction:.0%} of {cfg.target_pair} labels", tuned)):
        emb, pairs = embeddings(model, target_cfg, emb_files, dev, progress)
        idx = subsample(len(emb), cfg.embedding_max_windows, cfg.fraction_seed)
        emb, pairs = emb[idx], pairs[idx]
        panels.append((title, project(emb, cfg.embedding, tr.seed), pairs.tolist()))
        silhouette["pretrained" if model is pre else "finetuned"] = pair_silhouette(emb, pairs)

    result = {
        "recipe": tr.name, "data": str(data), "source_pairs": list(cfg.source_pairs), "target_pair": cfg.target_pair,
        "fraction_unit": cfg.fraction_unit, "fraction_seed": cfg.fraction_seed,
        "pretrain": {"checkpoint": str(pre_ck), "source.phase.accuracy": source["phase.accuracy"],
                     "source.phase.macro_f1": source["phase.macro_f1"], "source.defect.mean_f1": source["defect.mean_f1"],
                     "source_test_windows": source["n_windows"]},
        "zero_shot": zero,
        "accuracy_drop": {"phase.accuracy": _diff(source["phase.accuracy"], zero["phase.accuracy"]),
                          "phase.macro_f1": _diff(source["phase.macro_f1"], zero["phase.macro_f1"]),
                          "defect.mean_f1": _diff(source["defect.mean_f1"], zero["defect.mean_f1"]),
                          "vs_target_full_data.phase.macro_f1": _diff(full["phase.macro_f1"], zero["phase.macro_f1"])},
        "target_test_windows": zero["n_windows"], "target_test_recordings": [Path(f).stem for f in target_files],
        "full_data": {**full, "source": "scratch, 100% of the target labels" if ("scratch", 1.0) in results
                      else "fine-tuned, 100% of the target labels"},
        "fractions": rows,
        "target_check": {"fraction": cfg.check_fraction, "recovery": check["recovery.phase.macro_f1"],
                         "ok": bool(check["recovery.phase.macro_f1"] is not None
                                    and check["recovery.phase.macro_f1"] >= 0.9)},
        "embedding": {"method": cfg.embedding, "windows": len(panels[0][2]), "silhouette": silhouette},
    }
    figures = {"F1 vs label fraction": "transfer_f1.png", "embeddings by material pair": "transfer_embedding.png"}
    with staged_output(out, force=True) as tmp:  # checked at the start (runs/ may be ours)
        (tmp / "transfer.json").write_text(json.dumps(result, indent=1))
        plot_transfer(result, tmp / "transfer_f1.png")
        plot_embeddings(panels, tmp / "transfer_embedding.png", cfg.embedding, highlight=cfg.target_pair)
        (tmp / "transfer.md").write_text(transfer_markdown(result, figures))
    return result
