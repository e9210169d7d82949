"""The training loop: AdamW + warm-up/cosine, clipping, AMP on CUDA, early stopping, exact resume, DDP.

:func:`fit` takes built objects (a model, a loss callable, train/val datasets) and a
:class:`~weldfusion.recipes.training.TrainConfig`; it knows nothing about recipes, so the
ablation, transfer and baseline tools reuse it with their own models and data.

Files written by rank 0 in ``run_dir``:

- ``last.pt`` every epoch end (and every ``checkpoint_every_steps`` optimiser steps inside an
  epoch), ``best.pt`` whenever the monitored validation score improves (see :mod:`.checkpoint`;
  both also carry ``extra``, e.g. the recipe, DataInfo and normalisation statistics);
- ``metrics.jsonl``: one JSON row per finished epoch (rewritten from the checkpointed history, so
  it never holds rows of work that a resume repeats);
- ``curves.png``: loss, validation scores and learning rate per epoch.

Exact resume: the data order of an epoch is a function of (seed, epoch) only
(:class:`~weldfusion.tools.training.sampler.ResumableSampler`), the DataLoader's worker seed comes
from a generator seeded by (seed, epoch), and the checkpoint holds model, optimiser, scheduler,
grad scaler, epoch, step within the epoch, per-rank RNG states, early-stopping state, the partial
epoch loss sums and the metrics history. A run resumed from a mid-epoch ``last.pt`` therefore
replays the same batches with the same dropout masks and ends bit-identical on CPU (with
``num_workers: 0``, or with workers when the dataset draws no random numbers).

Test hook: ``WELDFUSION_KILL_AFTER_STEPS=n`` makes the process exit abruptly (``os._exit(75)``)
right after optimiser step ``n``, as a crash would.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.files import atomic_write_text
from weldfusion.recipes.training import TrainConfig
from weldfusion.tools.training import metrics as M
from weldfusion.tools.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from weldfusion.tools.training.distributed import Dist
from weldfusion.tools.training.optim import build_optimizer, build_scheduler
from weldfusion.tools.training.plots import plot_curves
from weldfusion.tools.training.predict import autocast, predict, to_device
from weldfusion.tools.training.sampler import ResumableSampler

KILL_ENV = "WELDFUSION_KILL_AFTER_STEPS"
KILL_EXIT_CODE = 75
CHECKPOINT_NAMES = ("last.pt", "best.pt")


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def freeze_batchnorm(model: nn.Module) -> int:
    """Put every batch-norm layer in eval mode (running statistics, no updates); returns how many."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in layers:
        m.eval()
    return len(layers)


@dataclass
class FitResult:
    """What :func:`fit` ends with (identical on every rank)."""

    best_score: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    thresholds: list[float]
    history: list[dict] = field(default_factory=list)


def validation_metrics(pred: dict, phases: tuple[str, ...], defects: tuple[str, ...], monitor: str) -> dict:
    """Validation row: phase accuracy/macro-F1, defect mean F1 at thresholds tuned here, monitor score.

    Returns the flat numbers for ``metrics.jsonl`` plus ``thresholds`` (D,) chosen on these windows.
    """
    phase = M.phase_metrics(pred["phase"], pred["phase_probs"], phases)
    thresholds = M.choose_thresholds(pred["defects"], pred["defect_probs"])
    defect = M.defect_metrics(pred["defects"], pred["defect_probs"], thresholds, defects)
    row = {
        "val_phase_accuracy": phase["accuracy"],
        "val_phase_macro_f1": phase["macro_f1"],
        "val_defect_mean_f1": defect["mean_f1"],
        "val_defect_micro_f1": defect["micro_f1"],
        "val_score": M.monitor_score(phase, defect, monitor),
        "thresholds": thresholds,
    }
    if "loss_sum" in pred:
        row["val_loss"] = float(pred["loss_sum"].sum() / max(pred["loss_count"].sum(), 1))
    return row


def has_checkpoint(run_dir: str | os.PathLike) -> bool:
    """True if ``run_dir`` already holds ``last.pt`` or ``best.pt``."""
    return any((Path(run_dir) / n).exists() for n in CHECKPOINT_NAMES)


def _write_jsonl(rows: list[dict], path: Path) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def _loader(dataset: Dataset, batch_size: int, sampler, num_workers: int, seed: int, device: torch.device,
            drop_last: bool) -> DataLoader:
    gen = torch.Generator()
    gen.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False, drop_last=drop_last,
                      num_workers=num_workers, generator=gen, pin_memory=device.type == "cuda",
                      persistent_workers=False)


def fit(model: nn.Module, loss_fn, train_set: Dataset, val_set: Dataset, cfg: TrainConfig, *, seed: int,
        run_dir: str | os.PathLike, phases: tuple[str, ...], defects: tuple[str, ...], ctx: Dist | None = None,
        resume: bool = False, extra: dict[str, Any] | None = None, progress: bool = True,
        augment: Callable[[dict], dict] | None = None) -> FitResult:
    """Train ``model`` with ``loss_fn(outputs, batch) -> {"total", ...}`` and validate every epoch.

    Args:
        model: a freshly built model (its initial weights come from the caller's seeding); moved
            to ``ctx.device`` and wrapped in DDP when ``ctx`` has more than one rank.
        loss_fn: callable on model outputs and the batch (module or function; moved to the device if a module).
        train_set, val_set: map-style datasets yielding batch-contract dicts (see ``datasets/info.py``).
        cfg: the ``train`` section.
        seed: fixes data order, worker seeds and anything random inside the loop.
        run_dir: output folder (rank 0 writes there).
        phases, defects: class names for the validation metrics.
        ctx: distributed context (single process on CPU when ``None``).
        resume: continue from ``run_dir/last.pt``.
        extra: plain data stored in every checkpoint (recipe, DataInfo, normalisation statistics, ...).
        progress: tqdm bar per epoch (rank 0 only).
        augment: applied to every training batch on the device (``batch -> batch``; e.g.
            :class:`~weldfusion.tools.training.augment.RateJitter`); validation sees raw batches.
    """
    ctx = ctx or Dist()
    run_dir = Path(run_dir)
    device = ctx.device
    use_amp = bool(cfg.amp and device.type == "cuda")
    if cfg.batch_size % ctx.world_size:
        raise InvalidInput(f"train.batch_size {cfg.batch_size} is not divisible by the {ctx.world_size} DDP processes")
    local_batch = cfg.batch_size // ctx.world_size

    model.to(device)
    if isinstance(loss_fn, nn.Module):
        loss_fn.to(device)
    if ctx.enabled and device.type == "cuda" and cfg.sync_batchnorm:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # CPU (gloo) has no SyncBatchNorm
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                  find_unused_parameters=True) if ctx.enabled else model

    sampler = ResumableSampler(train_set, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed,
                               drop_last=True)
    steps_per_epoch = sampler.num_samples // local_batch
    if steps_per_epoch == 0:
        raise InvalidInput(f"training split has {len(train_set)} windows, fewer than one batch of {cfg.batch_size}")
    total_steps = cfg.epochs * steps_per_epoch
    warmup = min(total_steps, int(round(cfg.warmup_epochs * steps_per_epoch)))
    optimizer = build_optimizer(model, cfg.lr, cfg.weight_decay, betas=tuple(cfg.betas))
    scheduler = build_scheduler(optimizer, warmup, total_steps, cfg.min_lr_ratio)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    val_shard = Subset(val_set, list(range(ctx.rank, len(val_set), ctx.world_size)))
    val_loader = DataLoader(val_shard, batch_size=max(1, local_batch), shuffle=False, num_workers=cfg.num_workers,
                            pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(seed))

    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "history": [], "accum": {},
             "early_stopping": {"best": -math.inf, "best_epoch": -1, "bad_epochs": 0, "stopped": False},
             "thresholds": [0.5] * len(defects)}

    def checkpoint_payload() -> dict:
        rngs = ctx.gather_objects(rng_state())
        return {
            **(extra or {}),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "sampler": sampler.state_dict(),
            "rng": rngs,
            "world_size": ctx.world_size,
            "seed": seed,
            **state,
        }

    def save(name: str, payload: dict) -> None:
        if ctx.is_main:
            save_checkpoint(payload, run_dir / name)

    if resume:
        ck = load_checkpoint(run_dir / "last.pt", map_location="cpu")
        if ck.get("world_size") != ctx.world_size:
            raise InvalidInput(f"{run_dir / 'last.pt'}: saved by {ck.get('world_size')} processes, "
                             f"cannot resume with {ctx.world_size}")
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        for key in state:
            state[key] = ck[key]
        set_rng_state(ck["rng"][ctx.rank])
    elif ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    if not resume:  # training-time randomness (dropout, modality dropout) differs between ranks
        seed_everything(seed * 1_000 + 1 + ctx.rank)
    kill_after = int(os.environ.get(KILL_ENV, "0") or 0)
    es = state["early_stopping"]
    while state["epoch"] < cfg.epochs and not es["stopped"]:
        epoch = state["epoch"]
        t_start = time.perf_counter()
        sampler.set_epoch(epoch)
        sampler.skip(state["step_in_epoch"] * local_batch)
        loader = _loader(train_set, local_batch, sampler, cfg.num_workers, seed * 100_003 + epoch, device, True)
        net.train()
        if cfg.freeze_batchnorm:
            freeze_batchnorm(model)
        bar = tqdm(loader, total=steps_per_epoch, initial=state["step_in_epoch"],
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not (progress and ctx.is_main),
                   dynamic_ncols=True, leave=False)
        accum = state["accum"]
        for batch in bar:
            batch = to_device(batch, device)
            if augment is not None:
                batch = augment(batch)
            with autocast(device, use_amp):
                outputs = net(batch)
                terms = loss_fn(outputs, batch)
            loss = terms["total"]
            if not torch.isfinite(loss):
                bad = [k for k, v in terms.items() if k != "total" and not torch.isfinite(v)]
                raise FloatingPointError(f"non-finite training loss at epoch {epoch + 1}, step "
                                         f"{state['global_step'] + 1} (terms: {', '.join(bad) or 'total'})")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                scaler.unscale_(optimizer)
                norm = nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                if not use_amp and not torch.isfinite(norm):  # with AMP the scaler skips such steps
                    bad = [n for n, p in model.named_parameters() if p.grad is not None
                           and not torch.isfinite(p.grad).all()]
                    raise FloatingPointError(f"non-finite gradients at epoch {epoch + 1}, step "
                                             f"{state['global_step'] + 1} in {len(bad)} tensors, e.g. "
                                             f"{', '.join(bad[:3])}")
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            n = int(batch["phase"].shape[0])
            for name, value in terms.items():
                accum[name] = accum.get(name, 0.0) + float(value.detach().float()) * n
            accum["_n"] = accum.get("_n", 0) + n
            state["step_in_epoch"] += 1
            state["global_step"] += 1
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            every = cfg.checkpoint_every_steps
            if every and state["global_step"] % every == 0 and state["step_in_epoch"] < steps_per_epoch:
                save("last.pt", checkpoint_payload())
            if kill_after and state["global_step"] >= kill_after:
                os._exit(KILL_EXIT_CODE)
        bar.close()

        # -- end of epoch: reduce training sums, validate on all ranks' shards, decide, save ----------
        names = sorted(k for k in accum if k != "_n")
        sums = ctx.all_reduce_sum([accum[k] for k in names] + [accum.get("_n", 0)])
        count = max(sums[-1], 1)
        pred = ctx.gather(predict(net.module if ctx.enabled else net, val_loader, device, loss_fn=loss_fn,
                                  amp=use_amp))
        val = validation_metrics(pred, phases, defects, cfg.monitor)
        thresholds = val.pop("thresholds")
        score = val["val_score"]
        improved = score > es["best"] + cfg.min_delta
        if improved:
            es.update(best=score, best_epoch=epoch, bad_epochs=0)
            state["thresholds"] = thresholds
        else:
            es["bad_epochs"] += 1
            if cfg.patience and es["bad_epochs"] >= cfg.patience:
                es["stopped"] = True
        row = {"epoch": epoch + 1, "step": state["global_step"], "lr": scheduler.get_last_lr()[0]}
        row.update({"train_loss" if k == "total" else f"train_{k}": s / count
                    for k, s in zip(names, sums[:-1], strict=True)})
        row.update(val)
        row.update(best_score=es["best"], best_epoch=es["best_epoch"] + 1, time_s=time.perf_counter() - t_start)
        state["history"].append(row)
        state["epoch"] += 1
        state["step_in_epoch"] = 0
        state["accum"] = {}
        payload = checkpoint_payload()
        save("last.pt", payload)
        if improved:
            save("best.pt", {**payload, "metrics": row})
        if ctx.is_main:
            _write_jsonl(state["history"], run_dir / "metrics.jsonl")
            plot_curves(state["history"], run_dir / "curves.png")
            if progress:
                tqdm.write(f"epoch {epoch + 1}: train loss {row['train_loss']:.4f}  val phase macro-F1 "
                           f"{row['val_phase_macro_f1']:.3f}  defect mean F1 {row['val_defect_mean_f1'] or 0:.3f}  "
                           f"score {score:.4f}{'  *best*' if improved else ''}  ({row['time_s']:.0f} s)")
        ctx.barrier()

    return FitResult(best_score=es["best"], best_epoch=es["best_epoch"] + 1, epochs_run=state["epoch"],
                     stopped_early=es["stopped"], thresholds=state["thresholds"], history=state["history"])
