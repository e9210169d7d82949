"""``weldfusion ablate CHECKPOINT --data DIR|GLOB --out DIR``: per-modality / per-component ablation + attribution.

Writes ``DIR/ablation.json`` (``{"modalities": [{"present": [...], "phase.macro_f1", "defect.mean_f1",
...}], "components": [{"disabled": "<name>", ...}], "attribution": {...}, "reference": {...}}``),
``DIR/ablation.md`` and ``DIR/ablation_modalities.png``. See :mod:`weldfusion.tools.analysis.ablation`
for what each row means and :mod:`weldfusion.tools.analysis.attribution` for the attribution figures.

Without flags nothing is trained: modality subsets are scored by masking, and the MS-STAN
components that can be knocked out of a trained model are. ``--retrain-leave-one-out`` trains the
recipe again once per modality (``data.modalities.<m>.enabled: false``); ``--retrain-components``
trains it again once per component (default: the components that need it). Retraining uses the
checkpoint's own recipe, or ``--recipe R``, with ``--set`` overrides; runs go to ``DIR/runs/<name>``
and are continued, not repeated, when the command is run again.
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
    p = argparse.ArgumentParser(prog="weldfusion ablate", description="Per-modality and per-component ablation "
                                "of a checkpoint, with attention attribution: ablation.json, ablation.md, "
                                "ablation_modalities.png.")
    p.add_argument("checkpoint", type=Path, help="best.pt / last.pt, or a run folder (uses its best.pt)")
    p.add_argument("--data", required=True, help="recordings: directory, glob, split list or .h5 file")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--split", choices=SPLITS, help="recordings to score (default: the recipe's eval.split, normally "
                   "test)")
    p.add_argument("--retrain-leave-one-out", action="store_true",
                   help="also train the recipe again without each modality (one run per modality)")
    p.add_argument("--retrain-components", nargs="?", const="needed", default=None, metavar="NAMES",
                   help="train the recipe again with each component off: 'needed' (default: the components that "
                   "cannot be knocked out at inference), 'all', or a comma list")
    p.add_argument("--recipe", help="recipe for retraining (default: the checkpoint's own recipe)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the retraining recipe, e.g. --set train.epochs=4 (repeatable)")
    p.add_argument("--region-mm", type=float, default=3.0, help="radius of the arc/pool disc of the spatial "
                   "attribution, mm (default 3)")
    p.add_argument("--key-tolerance-s", type=float, default=0.05, help="frames within this many seconds of a "
                   "phase transition are key frames (default 0.05)")
    p.add_argument("--latency-windows", type=int, default=20, help="windows timed per model for ms/window "
                   "(0 = no timing)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: the recipe's eval.batch_size)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def retrain_recipe(trained, recipe: str | None, overrides: list[str], data: str):
    """The recipe retraining runs start from: ``recipe`` (or the checkpoint's) + overrides, ``data.path = data``."""
    import dataclasses

    from weldfusion.recipes.config import ConfigError, apply_overrides, to_dict
    from weldfusion.recipes.tree import load_recipe, recipe_from_dict

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
    import dataclasses

    from weldfusion.tools.training.run import check_resume_recipe

    def strip(r):
        return dataclasses.replace(r, data=dataclasses.replace(r.data, path=None))

    try:
        check_resume_recipe(strip(a), strip(b), Path("recipe"))
    except ValueError:
        return False
    return True


def score_checkpoint(path, data: str, split: str, device, batch_size: int | None, progress: bool) -> dict:
    """Flat metrics of a (retrained) checkpoint on ``split`` of ``data``, windows with no present modality left out."""
    from torch.utils.data import DataLoader
    from weldfusion.tools.analysis.ablation import score_model
    from weldfusion.tools.training.data import build_data
    from weldfusion.tools.training.loading import load_trained

    trained = load_trained(path, device)
    bundle = build_data(trained.recipe.data, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{data}: no labelled windows in the {split} split for {trained.path}")
    info = trained.info
    loader = DataLoader(dataset, batch_size=batch_size or trained.recipe.eval.batch_size, shuffle=False)
    return score_model(trained.model, loader, device, names=info.names, phases=info.phases, defects=info.defects,
                       thresholds=trained.thresholds, keep=[True] * len(info.names),
                       progress="score" if progress else None)


def ablate_checkpoint(checkpoint: str | os.PathLike, data: str, out: str | os.PathLike, *, split: str | None = None,
                      retrain_leave_one_out: bool = False, retrain_components: str | None = None,
                      recipe: str | None = None, overrides: list[str] | tuple[str, ...] = (),
                      region_mm: float = 3.0, key_tolerance_s: float = 0.05, latency_windows: int = 20,
                      device: str = "auto", batch_size: int | None = None, progress: bool = True) -> dict:
    """Run the ablation (see module docstring); write ``ablation.json/.md/_modalities.png`` to ``out``; return the tree.

    Bad input fails before anything is written; the three files are made in a temporary folder and
    moved into ``out`` at the end (retraining runs live in ``out/runs`` so that they can be continued).
    """
    from torch.utils.data import DataLoader
    from weldfusion.fusion.config import COMPONENTS
    from weldfusion.tools.analysis import ablation as A
    from weldfusion.tools.analysis.attribution import collect_attribution
    from weldfusion.tools.analysis.report import ablation_markdown, plot_modalities
    from weldfusion.tools.training.data import build_data
    from weldfusion.tools.training.distributed import resolve_device
    from weldfusion.tools.training.loading import info_to_dict, load_trained

    retrain_set = A.parse_retrain_components(retrain_components)
    if (recipe is not None or overrides) and not (retrain_leave_one_out or retrain_set):
        raise InvalidInput("--recipe / --set configure retraining: give --retrain-leave-one-out or --retrain-components")
    if region_mm <= 0 or key_tolerance_s < 0 or latency_windows < 0:
        raise InvalidInput("--region-mm must be > 0, --key-tolerance-s and --latency-windows >= 0")
    dev = resolve_device(device)
    trained = load_trained(checkpoint, dev)
    rec, info = trained.recipe, trained.info
    split = split or rec.eval.split
    bsz = batch_size or rec.eval.batch_size
    if bsz < 1:
        raise InvalidInput(f"--batch-size must be >= 1, got {bsz}")
    base_recipe = retrain_recipe(trained, recipe, list(overrides), data) if (retrain_leave_one_out or retrain_set) \
        else None
    bundle = build_data(rec.data, spec=data, norm=trained.norm, splits=(split,), progress=progress)
    dataset = bundle.datasets[split]
    if dataset is None or len(dataset) == 0:
        raise InvalidInput(f"{data}: no labelled windows in the {split} split of these recordings "
                         "(use --split all for recordings the model was not split on)")
    if info_to_dict(bundle.info) != info_to_dict(info):
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
        import dataclasses

        from weldfusion.recipes.config import to_dict
        from weldfusion.recipes.tree import recipe_from_dict

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
            row.update(modalities=list(A.msstan_cores(model)) if COMPONENTS[comp][0] == "model" else [],
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
    with staged_output(out) as tmp:
        (tmp / "ablation.json").write_text(json.dumps(result, indent=1))
        plot_modalities(modalities, tmp / "ablation_modalities.png", reference)
        (tmp / "ablation.md").write_text(ablation_markdown(result))
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    r = ablate_checkpoint(args.checkpoint, args.data, args.out, split=args.split,
                          retrain_leave_one_out=args.retrain_leave_one_out, retrain_components=args.retrain_components,
                          recipe=args.recipe, overrides=args.overrides, region_mm=args.region_mm,
                          key_tolerance_s=args.key_tolerance_s, latency_windows=args.latency_windows,
                          device=args.device, batch_size=args.batch_size, progress=not args.quiet)
    from weldfusion.tools.analysis.report import f3, signed

    ref = r["reference"]
    print(f"{r['split']} split: {ref['n_windows']} windows; all modalities: phase macro-F1 {f3(ref['phase.macro_f1'])}"
          f"  defect mean F1 {f3(ref['defect.mean_f1'])}")
    for row in r["modalities"]:
        print(f"  {row['mode']:<9} {'+'.join(row['present']):<36} phase macro-F1 {f3(row['phase.macro_f1'])} "
              f"({signed(row['phase.macro_f1_drop'])} drop)  defect mean F1 {f3(row['defect.mean_f1'])}")
    for row in r["components"]:
        print(f"  no {row['disabled']:<24} {row['mode']:<16} phase macro-F1 {f3(row.get('phase.macro_f1'))}  "
              f"defect mean F1 {f3(row.get('defect.mean_f1'))}")
    att = r["attribution"]
    print(f"attribution: background noise {f3(att['background_noise'])}  keyframe focus {f3(att['keyframe_focus'])}")
    print(f"wrote {args.out / 'ablation.json'}, {args.out / 'ablation.md'}, {args.out / 'ablation_modalities.png'}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("ablate", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
