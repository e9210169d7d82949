"""``weldfusion ablate CHECKPOINT --data DIR|GLOB --out DIR``: per-modality / per-component ablation + attribution.

The library behind ``weldfusion ablate`` (the verb only parses its arguments).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

from torch.utils.data import DataLoader
from weldfusion.fusion.config import COMPONENTS
from weldfusion.fusion.msstan.model import msstan_cores
from weldfusion.recipes.config import ConfigError, apply_overrides, to_dict
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.tree import load_recipe, recipe_from_dict
from weldfusion.tools.analysis import ablation as A
from weldfusion.tools.analysis.ablation import score_model
from weldfusion.tools.analysis.attribution import collect_attribution
from weldfusion.tools.analysis.report import ablation_markdown, plot_modalities
from weldfusion.tools.outputs import output_dir, staged_output
from weldfusion.tools.training.data import build_data
from weldfusion.tools.training.distributed import resolve_device
from weldfusion.tools.training.loading import load_trained
from weldfusion.tools.training.run import check_resume_recipe

SPLITS = ("test", "val", "train", "all")


def retrain_recipe(trained, recipe: str | None, overrides: list[str], data: str):
    """The recipe retraining runs start from: ``recipe`` (or the checkpoint's) + overrides, ``data.path = data``."""


    if recipe is not None:
        base = load_recipe(recipe, overrides)
    else:
        try:
            base = recipe_from_dict(apply_overrides(to_dict(trained.recipe), list(overrides)))
        except ConfigError as err:
            raise ConfigError(f"{trained.path} (recipe): {err}") from None
    return dataclasses.replace(base, data=dataclasses.replace(base.data, path=str(data)))


def same_recipe(a, b) -> bool:
    """True if two recipes train the same model (ignoring device, workers, data path and filled class weights)."""


    def strip(r):
        return dataclasses.replace(r, data=dataclasses.replace(r.data, path=None))

    try:
        check_resume_recipe(strip(a), strip(b), Path("recipe"))
    except ValueError:
        return False
    return True


def score_checkpoint(path, data: str, split: str, device, batch_size: int | None, progress: bool) -> dict:
    """Flat metrics of a (retrained) checkpoint on ``split`` of ``data``, windows with no present modality left out."""

    trained = load_trained(path, device)
    bundle = build_data(trained.recipe.data, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{data}: no labelled windows in the {split} split for {trained.path}")
    info = trained.info
    loader = DataLoader(dataset, batch_size=batch_size if batch_size is not None else trained.recipe.eval.batch_size, shuffle=False)
    return score_model(trained.model, loader, device, names=info.names, phases=info.phases, defects=info.defects,
                       thresholds=trained.thresholds, keep=[True] * len(info.names),
                       progress="score" if progress else None)


def ablate_checkpoint(checkpoint: str | os.PathLike, data: str, out: str | os.PathLike, *, split: str | None = None,
                      retrain_leave_one_out: bool = False, retrain_components: str | None = None,
                      recipe: str | None = None, overrides: list[str] | tuple[str, ...] = (),
                      region_mm: float = 3.0, key_tolerance_s: float = 0.05, latency_windows: int = 20,
                      device: str = "auto", batch_size: int | None = None, progress: bool = True, force: bool = False) -> dict:
    """Run the ablation (see module docstring); write ``ablation.json/.md/_modalities.png`` to ``out``; return the tree.

    Bad input fails before anything is written; the three files are made in a temporary folder and
    moved into ``out`` at the end (retraining runs live in ``out/runs`` so that they can be continued).
    """
    output_dir(out, force=force, inputs=[checkpoint, data])  # refuse before any work

    retrain_set = A.parse_retrain_components(retrain_components)
    if (recipe is not None or overrides) and not (retrain_leave_one_out or retrain_set):
        raise InvalidInput("--recipe / --set configure retraining: give --retrain-leave-one-out or --retrain-components")
    if not (math.isfinite(region_mm) and region_mm > 0 and math.isfinite(key_tolerance_s) and key_tolerance_s >= 0) \
            or latency_windows < 0:
        raise InvalidInput("--region-mm must be > 0, --key-tolerance-s and --latency-windows >= 0")
    dev = resolve_device(device)
    trained = load_trained(checkpoint, dev)
    rec, info = trained.recipe, trained.info
    split = split or rec.eval.split
    bsz = batch_size if batch_size is not None else rec.eval.batch_size
    if bsz < 1:
        raise InvalidInput(f"--batch-size must be >= 1, got {bsz}")
    base_recipe = retrain_recipe(trained, recipe, list(overrides), data) if (retrain_leave_one_out or retrain_set) \
        else None
    bundle = build_data(rec.data, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{data}: no labelled windows in the {split} split of these recordings "
                         "(use --split all for recordings the model was not split on)")
    if bundle.info.to_dict() != info.to_dict():
        raise InvalidInput(f"{data}: windows do not match what {trained.path} was trained on "
                         f"(modalities/shapes/classes differ: {bundle.info} vs {info})")
    names, phases, defects, thr = info.names, info.phases, info.defects, trained.thresholds
    amp = bool(rec.train.amp and dev.type == "cuda")
    batches = A.BatchCache(DataLoader(dataset, batch_size=bsz, shuffle=False, num_workers=0,
                                      pin_memory=dev.type == "cuda"))
    common = {"names": names, "phases": phases, "defects": defects, "thresholds": thr, "amp": amp}
    model = trained.model

    reference = {"present": list(names), **A.score_model(model, batches, dev, **common,
                                                          progress="reference" if progress else None)}
    reference["latency.ms_per_window"] = A.latency_ms(model, dataset, dev, latency_windows)
    modalities = A.modality_rows(model, batches, dev, reference=reference, progress=progress, **common)

    components = []
    for comp in COMPONENTS:
        row = {"disabled": comp}
        if not A.component_in_recipe(rec, comp):
            row.update(mode="not_in_model", modalities=[])
        elif comp in retrain_set:
            row.update(mode="retrained")  # filled below
        elif comp in A.INFERENCE_SWITCHES:
            clone, changed = A.knock_out(model, comp)
            if not changed:
                row.update(mode="not_in_model", modalities=[])
            else:
                metrics = A.score_model(clone, batches, dev, **common, progress=f"no {comp}" if progress else None)
                row.update(mode="inference", modalities=changed, **A.with_drops(metrics, reference))
                row["latency.ms_per_window"] = A.latency_ms(clone, dataset, dev, latency_windows)
            del clone
        else:
            row.update(mode="needs_retraining", modalities=[], **A.empty_metrics())
        components.append(row)

    frame_shapes = {m.name: tuple(m.shape) for m in info.modalities if m.kind == "image"}
    attribution = collect_attribution(model, batches, dev, files=bundle.files[split], modalities=names,
                                      frame_shapes=frame_shapes, window_s=info.window_s, phases=phases,
                                      defects=defects, region_mm=region_mm, key_tolerance_s=key_tolerance_s,
                                      progress="attribution" if progress else None)

    out = Path(out)
    runs: dict[str, str] = {}
    if base_recipe is not None:


        run_root = out / "runs"
        if same_recipe(base_recipe, rec):
            retrained_ref = reference
        else:
            ck = A.retrain(base_recipe, run_root / "reference", progress)
            runs["reference"] = str(ck)
            retrained_ref = score_checkpoint(ck, data, split, dev, bsz, progress)
        if retrain_leave_one_out:
            for m in names:
                r = recipe_from_dict(A.without_modality(to_dict(base_recipe), m))
                r = dataclasses.replace(r, name=f"{base_recipe.name}-without-{m}")
                ck = A.retrain(r, run_root / f"without_{m}", progress)
                runs[f"without_{m}"] = str(ck)
                metrics = score_checkpoint(ck, data, split, dev, bsz, progress)
                modalities.append({"present": [n for n in names if n != m], "absent": [m], "mode": "retrained",
                                   **A.with_drops(metrics, retrained_ref), "run": str(ck)})
        for row in components:
            if row["mode"] != "retrained":
                continue
            comp = row["disabled"]
            r = dataclasses.replace(A.without_component(base_recipe, comp), name=f"{base_recipe.name}-no-{comp}")
            ck = A.retrain(r, run_root / f"no_{comp}", progress)
            runs[f"no_{comp}"] = str(ck)
            metrics = score_checkpoint(ck, data, split, dev, bsz, progress)
            row.update(modalities=list(msstan_cores(model)) if COMPONENTS[comp][0] == "model" else [],
                       **A.with_drops(metrics, retrained_ref), run=str(ck))
        if retrained_ref is not reference:
            retrained_ref = {"present": list(names), **retrained_ref, "run": runs["reference"]}

    singles = [r for r in modalities if r["mode"] == "masked" and len(r["absent"]) == 1
               and r.get("phase.macro_f1_drop") is not None]
    worst = max(singles, key=lambda r: r["phase.macro_f1_drop"], default=None)
    summary = {"worst_single_missing": None if worst is None else
               {"absent": worst["absent"][0], "phase.macro_f1_drop": worst["phase.macro_f1_drop"],
                "defect.mean_f1_drop": worst["defect.mean_f1_drop"]},
               "one_missing_phase_drop_ok": None if worst is None else bool(worst["phase.macro_f1_drop"] <= 0.03)}
    result = {
        "checkpoint": str(trained.path), "recipe": rec.name, "data": str(data), "split": split,
        "names": list(names), "thresholds": dict(zip(defects, thr, strict=True)),
        "recordings": sorted({rid for rid, _ in bundle.windows[split].window_index}),
        "reference": reference, "modalities": modalities, "components": components,
        "attribution": attribution, "summary": summary,
        "inference_switches": list(A.INFERENCE_SWITCHES), "needs_retraining": list(A.NEEDS_RETRAINING),
    }
    if base_recipe is not None:
        result["retrained_reference"] = retrained_ref
        result["runs"] = runs
    with staged_output(out, force=True) as tmp:  # checked at the start (runs/ may be ours)
        (tmp / "ablation.json").write_text(json.dumps(result, indent=1))
        plot_modalities(modalities, tmp / "ablation_modalities.png", reference)
        (tmp / "ablation.md").write_text(ablation_markdown(result))
    return result
