"""Train a recipe end to end: data -> class weights -> model and loss -> :func:`~.trainer.fit`.

:func:`train_recipe` is what ``weldfusion train`` runs; the transfer and baseline tools call it
with modified recipes. Rank 0 writes, next to the checkpoints: ``config.yaml`` (the resolved
recipe, class weights included), ``norm_stats.json`` and ``splits/{train,val,test}.txt``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import torch
from weldfusion.datasets.normalize import NormStats
from weldfusion.datasets.splits import save_splits
from weldfusion.fusion.build import build_loss, build_model
from weldfusion.recipes.config import to_dict
from weldfusion.recipes.errors import InvalidInput, MissingInput, OutputExists
from weldfusion.recipes.tree import RecipeConfig, load_recipe, save_recipe
from weldfusion.tools.outputs import claim, exclusive
from weldfusion.tools.training.augment import RateJitter
from weldfusion.tools.training.checkpoint import load_checkpoint, model_weights
from weldfusion.tools.training.data import build_data, class_weights
from weldfusion.tools.training.distributed import Dist, resolve_device
from weldfusion.tools.training.loading import checkpoint_path
from weldfusion.tools.training.trainer import FitResult, fit, has_checkpoint, seed_everything

#: Keys that may differ between the recipe given to ``--resume`` and the run's saved config.
RESUME_MAY_DIFFER = ("train.device", "train.num_workers", "loss.phase_class_weights", "loss.defect_pos_weight")


def _flat(data, prefix: str = "") -> dict:
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: data}


def check_resume_recipe(recipe: RecipeConfig, saved: RecipeConfig, where: Path) -> None:
    """``ValueError`` naming the first key where ``recipe`` differs from the run's saved recipe."""
    a, b = _flat(to_dict(recipe)), _flat(to_dict(saved))
    for key in sorted(set(a) | set(b)):
        if key not in RESUME_MAY_DIFFER and a.get(key) != b.get(key):
            raise InvalidInput(f"{where}: cannot resume, the recipe differs at {key} "
                             f"({a.get(key)!r} here, {b.get(key)!r} in the run)")


def init_weights(model: torch.nn.Module, path: str | os.PathLike) -> tuple[int, list[str]]:
    """Copy the parameters of checkpoint ``path`` whose names and shapes match; (copied, skipped names)."""
    path = checkpoint_path(path)
    weights = model_weights(load_checkpoint(path), path)
    own = model.state_dict()
    take = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(take, strict=False)
    return len(take), sorted(set(own) - set(take))


def with_class_weights(recipe: RecipeConfig, phase, defects, n_phases: int) -> RecipeConfig:
    """``recipe`` with ``loss.phase_class_weights`` / ``loss.defect_pos_weight`` filled from training labels
    (per ``train.class_weighting``), unless the recipe sets them explicitly."""
    pw, dw = class_weights(phase, defects, n_phases, recipe.train.class_weighting, recipe.train.max_class_weight)
    loss = recipe.loss
    updates = {}
    if loss.phase_class_weights is None and pw is not None:
        updates["phase_class_weights"] = tuple(pw)
    if loss.defect_pos_weight is None and dw is not None:
        updates["defect_pos_weight"] = tuple(dw)
    return dataclasses.replace(recipe, loss=dataclasses.replace(loss, **updates)) if updates else recipe


def train_recipe(recipe: RecipeConfig, run_dir: str | os.PathLike, *, resume: bool = False, ctx: Dist | None = None,
                 progress: bool = True) -> FitResult:
    """Train ``recipe`` into ``run_dir`` (see module docstring); returns the :class:`FitResult`.

    Rank 0 holds an exclusive lock on ``run_dir`` for the whole run (a second ``train`` on the same
    folder is refused). A run that fails before its first checkpoint leaves nothing behind: the
    files it wrote are removed, and so is ``run_dir`` if the run created it.

    Raises:
        FileExistsError: ``run_dir`` already holds a checkpoint and ``resume`` is False, or another
            run holds its lock.
        FileNotFoundError: ``resume`` without ``run_dir/last.pt``.
        ValueError: the recipe differs from the run's saved one on resume, or bad data.
    """
    run_dir = Path(run_dir)
    ctx = ctx or Dist(device=resolve_device(recipe.train.device))
    if not ctx.is_main:
        return _train(recipe, run_dir, resume, ctx, progress)
    if run_dir.exists() and not run_dir.is_dir():
        raise InvalidInput(f"{run_dir}: exists and is not a folder")
    claim(run_dir)
    created = not run_dir.exists()
    before = set(run_dir.iterdir()) if not created else set()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive(run_dir, "train run"):
            return _train(recipe, run_dir, resume, ctx, progress)
    except BaseException:
        if not has_checkpoint(run_dir):
            if created:
                shutil.rmtree(run_dir, ignore_errors=True)
            else:
                for path in set(run_dir.iterdir()) - before:
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        raise


def _train(recipe: RecipeConfig, run_dir: Path, resume: bool, ctx: Dist, progress: bool) -> FitResult:
    norm = None
    if resume:
        if not (run_dir / "last.pt").is_file():
            raise MissingInput(f"{run_dir}: nothing to resume (no last.pt)")
        saved = load_recipe(run_dir / "config.yaml")
        check_resume_recipe(recipe, saved, run_dir / "config.yaml")
        recipe = dataclasses.replace(saved, train=dataclasses.replace(
            saved.train, device=recipe.train.device, num_workers=recipe.train.num_workers))
        norm = NormStats.load(run_dir / "norm_stats.json")
    elif has_checkpoint(run_dir):
        raise OutputExists(f"{run_dir}: already holds a checkpoint; pass --resume to continue that run "
                              "or choose another --out")

    if norm is None and ctx.enabled:  # rank 0 computes the statistics, the others receive them
        norm = ctx.broadcast_object(
            build_data(recipe.data, splits=("train",), progress=progress).norm if ctx.is_main else None)
    bundle = build_data(recipe.data, norm=norm, progress=progress and ctx.is_main)
    if recipe.train.label_fraction < 1.0:  # few-label training: keep labels of a nested, seeded subset only
        bundle = bundle.with_label_fraction(recipe.train.label_fraction, recipe.train.label_fraction_unit,
                                            recipe.train.label_fraction_seed)
    if bundle.val is None or len(bundle.val) == 0:
        raise InvalidInput(f"{recipe.data.path}: the validation split is empty "
                         f"(data.split.val = {recipe.data.split.val})")
    if not resume:
        phase, defects = bundle.targets("train")
        recipe = with_class_weights(recipe, phase, defects, len(bundle.info.phases))

    seed_everything(recipe.seed)
    model = build_model(recipe.model, bundle.info)
    loss_fn = build_loss(recipe.loss, bundle.info, recipe.model.localisation)
    init_note = ""
    if recipe.train.init_from and not resume:  # before anything is written: a refused file leaves no run
        copied, skipped = init_weights(model, recipe.train.init_from)
        init_note = (f"initialised {copied} tensors from {recipe.train.init_from}"
                     + (f" ({len(skipped)} kept fresh: {', '.join(skipped[:4])}{' ...' if len(skipped) > 4 else ''})"
                        if skipped else ""))
    if ctx.is_main:
        save_recipe(recipe, run_dir / "config.yaml")
        bundle.norm.save(run_dir / "norm_stats.json")
        (run_dir / "splits").mkdir(exist_ok=True)
        save_splits({k: v for k, v in bundle.files.items()}, run_dir / "splits")
        if init_note and progress:
            print(init_note)
    ctx.barrier()
    extra = {"config": to_dict(recipe), "info": bundle.info.to_dict(), "norm": bundle.norm.to_dict()}
    return fit(model, loss_fn, bundle.train, bundle.val, recipe.train, seed=recipe.seed, run_dir=run_dir,
               phases=bundle.info.phases, defects=bundle.info.defects, ctx=ctx, resume=resume, extra=extra,
               progress=progress, augment=RateJitter(recipe.train.rate_jitter, bundle.info))
