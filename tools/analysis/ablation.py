"""Per-modality and per-component ablation of a trained model (``weldfusion ablate``).

**Modalities.** Every non-empty subset of the modalities of the checkpoint is scored on the same
windows by masking: the ``present`` columns of the left-out modalities are cleared and their
tensors zeroed (:func:`mask_modalities`); the model is not retrained (it learned to work with
missing sensors through modality dropout). Windows that have none of a subset's modalities are
left out of that subset's row (``n_windows`` says how many were scored). Defect thresholds stay
those chosen on validation with every modality. Optionally each modality is also *retrained
without* (leave-one-out): the recipe is trained again with ``data.modalities.<m>.enabled: false``.

**Components.** Each MS-STAN component of :data:`weldfusion.fusion.config.COMPONENTS` is switched
off in one of two ways:

* ``inference`` — the learned block is knocked out of a copy of the loaded model
  (:data:`INFERENCE_SWITCHES`, :meth:`~weldfusion.fusion.msstan.model.MSSTAN.switch_off`: frame
  sampler, knowledge prior, motion magnification, occlusion mask, background suppression, spatial /
  temporal attention scoring, the spatial-peak term). This measures how much the trained model relies on the block, with no retraining.
* ``retrained`` — the recipe is trained again with the component disabled
  (:func:`weldfusion.fusion.config.disable_component`), as in the paper's ablation tables. Needed
  for ``multiscale_temporal`` and ``separable_temporal`` (they change the weights' shapes) and for
  the training-only loss terms ``contrastive``, ``semantic_similarity``, ``temporal_consistency``
  (:data:`NEEDS_RETRAINING`); any component can be retrained on request.

A component that the checkpoint does not use is reported with mode ``not_in_model``; one that
needs retraining when retraining was not asked for, with mode ``needs_retraining`` and no metrics.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from weldfusion.fusion.config import COMPONENTS, MSSTANConfig, disable_component
from weldfusion.fusion.msstan.model import INFERENCE_COMPONENTS, msstan_cores
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.training.evaluation import task_metrics
from weldfusion.tools.training.predict import measure_latency, predict
from weldfusion.tools.training.run import train_recipe
from weldfusion.tools.training.trainer import has_checkpoint

#: Components a trained model can be run without (knock-out on a copy, no retraining).
INFERENCE_SWITCHES: tuple[str, ...] = INFERENCE_COMPONENTS

#: Components that cannot be removed from a trained model: different weights, or training-only losses.
NEEDS_RETRAINING: tuple[str, ...] = tuple(c for c in COMPONENTS if c not in INFERENCE_SWITCHES)

#: Flat metric keys of every row (dotted names as in metrics.json).
METRIC_KEYS: tuple[str, ...] = ("phase.accuracy", "phase.macro_f1", "defect.mean_f1", "defect.micro_f1",
                                "calibration.ece")


# -- modality subsets ------------------------------------------------------------------------------------------
def modality_subsets(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``names`` (canonical order inside a subset), largest first."""
    names = tuple(names)
    return [s for k in range(len(names), 0, -1) for s in itertools.combinations(names, k)]


def mask_modalities(batch: dict, names: Sequence[str], keep: Sequence[bool]) -> dict:
    """``batch`` with the modalities where ``keep`` is False made absent; windows left with none are dropped.

    names: the (M,) modality names of the ``present`` columns (``DataInfo.names``); keep: (M,) bool.
    The left-out modalities' ``present`` column becomes False and their tensors zeros, so nothing of
    them reaches the model; rows with no present modality left are removed from every key
    (tensors with a batch axis and per-window lists).
    """
    if len(keep) != len(names) or batch["present"].shape[1] != len(names):
        raise ValueError(f"keep {list(keep)} does not match modalities {list(names)} / present "
                         f"{tuple(batch['present'].shape)}")
    keep_t = torch.as_tensor(list(keep), dtype=torch.bool, device=batch["present"].device)
    present = batch["present"].bool() & keep_t[None, :]  # (B, M)
    out = dict(batch)
    out["present"] = present
    for i, name in enumerate(names):
        if not keep[i]:
            out[name] = torch.zeros_like(batch[name])
    rows = present.any(dim=1)  # (B,)
    if bool(rows.all()):
        return out
    idx = rows.nonzero().squeeze(1)
    n = rows.shape[0]
    for k, v in out.items():
        if torch.is_tensor(v) and v.dim() > 0 and v.shape[0] == n:
            out[k] = v.index_select(0, idx)
        elif isinstance(v, (list, tuple)) and len(v) == n:
            out[k] = [v[int(i)] for i in idx]
    return out


def masked_batches(batches: Iterable[dict], names: Sequence[str], keep: Sequence[bool]) -> Iterator[dict]:
    """:func:`mask_modalities` over ``batches``, skipping batches left empty."""
    for batch in batches:
        out = mask_modalities(batch, names, keep)
        if out["present"].shape[0]:
            yield out


class BatchCache:
    """The batches of a loader, kept in memory after the first pass when there are at most ``max_windows``."""

    def __init__(self, loader: DataLoader, max_windows: int = 4096) -> None:
        self.loader = loader
        self.cache: list[dict] | None = None
        self.keep = len(loader.dataset) <= max_windows

    def __iter__(self) -> Iterator[dict]:
        if self.cache is not None:
            yield from self.cache
            return
        stored = []
        for batch in self.loader:
            if self.keep:
                stored.append(batch)
            yield batch
        if self.keep:
            self.cache = stored


# -- scoring ---------------------------------------------------------------------------------------------------
def flat_metrics(pred: dict, phases: Sequence[str], defects: Sequence[str], thresholds: Sequence[float],
                 modalities: Sequence[str]) -> dict:
    """The row numbers of one prediction set: ``n_windows``, :data:`METRIC_KEYS`, ``modality_weights_mean``."""
    m = task_metrics(pred, tuple(phases), tuple(defects), list(thresholds))
    row = {"n_windows": int(pred["phase"].shape[0]),
           "phase.accuracy": m["phase"]["accuracy"], "phase.macro_f1": m["phase"]["macro_f1"],
           "defect.mean_f1": m["defect"]["mean_f1"], "defect.micro_f1": m["defect"]["micro_f1"],
           "calibration.ece": m["calibration"]["ece"],
           "phase.f1": {k: v["f1"] for k, v in m["phase"]["per_class"].items()},
           "defect.f1": {k: v["f1"] for k, v in m["defect"]["per_class"].items()}}
    if "modality_weights" in pred:
        row["modality_weights_mean"] = {n: float(w) for n, w in zip(modalities, pred["modality_weights"].mean(axis=0),
                                                                     strict=True)}
    return row


def empty_metrics() -> dict:
    """A row with no windows scored."""
    return {"n_windows": 0, **{k: None for k in METRIC_KEYS}}


def with_drops(row: dict, reference: dict) -> dict:
    """``row`` plus ``<metric>_drop`` = reference - row (points of F1 / accuracy lost; None if unknown)."""
    out = dict(row)
    for k in ("phase.accuracy", "phase.macro_f1", "defect.mean_f1"):
        a, b = reference.get(k), row.get(k)
        out[f"{k}_drop"] = None if a is None or b is None else float(a - b)
    return out


def score_model(model: nn.Module, batches: Iterable[dict], device: torch.device, *, names: Sequence[str],
                phases: Sequence[str], defects: Sequence[str], thresholds: Sequence[float],
                keep: Sequence[bool] | None = None, amp: bool = False, progress: str | None = None) -> dict:
    """Flat metrics of ``model`` on ``batches`` with only the modalities in ``keep`` (all when None)."""
    source = batches if keep is None else masked_batches(batches, names, keep)
    try:
        pred = predict(model, source, device, amp=amp, progress=progress)
    except ValueError as err:
        if "no windows" in str(err):
            return empty_metrics()
        raise
    return flat_metrics(pred, phases, defects, thresholds, names)


def modality_rows(model: nn.Module, batches: Iterable[dict], device: torch.device, *, names: Sequence[str],
                  phases: Sequence[str], defects: Sequence[str], thresholds: Sequence[float], reference: dict,
                  amp: bool = False, progress: bool = True) -> list[dict]:
    """One ``mode: masked`` row per non-empty modality subset (largest first)."""
    rows = []
    for subset in modality_subsets(names):
        keep = [n in subset for n in names]
        metrics = score_model(model, batches, device, names=names, phases=phases, defects=defects,
                              thresholds=thresholds, keep=keep, amp=amp,
                              progress=f"{'+'.join(subset)}" if progress else None)
        rows.append({"present": list(subset), "absent": [n for n in names if n not in subset], "mode": "masked",
                     **with_drops(metrics, reference)})
    return rows


# -- components ------------------------------------------------------------------------------------------------
def knock_out(model: nn.Module, component: str) -> tuple[nn.Module, list[str]]:
    """A copy of ``model`` with ``component`` removed from every MS-STAN encoder; (copy, modalities changed).

    Raises ``KeyError`` for a component that cannot be switched off at inference.
    """
    if component not in INFERENCE_SWITCHES:
        raise KeyError(f"component {component!r} cannot be switched off without retraining "
                       f"(inference switches: {', '.join(INFERENCE_SWITCHES)})")
    clone = copy.deepcopy(model)
    changed = [m for m, net in msstan_cores(clone).items() if net.switch_off(component)]
    return clone, changed


def component_in_recipe(recipe, component: str) -> bool:
    """True if the recipe's model/loss uses ``component`` (in at least one MS-STAN encoder)."""
    where, key = COMPONENTS[component]
    if where == "loss":
        return bool(getattr(recipe.loss, key))
    if where == "localisation":
        return bool(getattr(recipe.model.localisation, key))

    return any(getattr(getattr(recipe.model, f.name), key) for f in dataclasses.fields(recipe.model)
               if isinstance(getattr(recipe.model, f.name), MSSTANConfig))


def parse_retrain_components(spec: str | None) -> tuple[str, ...]:
    """``--retrain-components`` value -> component names: None/"" -> (), ``needed`` -> :data:`NEEDS_RETRAINING`,
    ``all`` -> every component, else a comma list (unknown names raise ``ValueError``)."""
    if not spec:
        return ()
    if spec == "needed":
        return NEEDS_RETRAINING
    if spec == "all":
        return tuple(COMPONENTS)
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [n for n in names if n not in COMPONENTS]
    if bad or not names:
        raise InvalidInput(f"--retrain-components: unknown component {bad[0] if bad else spec!r} "
                         f"(known: needed, all, {', '.join(COMPONENTS)})")
    return names


def latency_ms(model: nn.Module, dataset, device: torch.device, n: int) -> float | None:
    """Median batch-1 forward time (ms per window) over ``n`` windows; None when ``n`` is 0."""
    if n <= 0:
        return None
    return float(measure_latency(model, dataset, device, n=n, warmup=2, batch_size=1)["ms_per_window"])


# -- retraining ------------------------------------------------------------------------------------------------
def retrain(recipe, run_dir: str | os.PathLike, progress: bool = True) -> Path:
    """Train ``recipe`` into ``run_dir`` (continuing a run already there, so re-running is cheap); -> best.pt."""

    run_dir = Path(run_dir)
    train_recipe(recipe, run_dir, resume=has_checkpoint(run_dir) and (run_dir / "last.pt").is_file(),
                 progress=progress)
    return run_dir / "best.pt"


def without_modality(recipe_data: dict, modality: str) -> dict:
    """Plain recipe data with ``data.modalities.<modality>.enabled: false`` (column kept, always absent)."""
    data = copy.deepcopy(recipe_data)
    section = data.setdefault("data", {}).setdefault("modalities", {})
    entry = section.get(modality)
    section[modality] = {**(entry or {}), "enabled": False}
    return data


def without_component(recipe, component: str):
    """``recipe`` with ``component`` disabled (model or loss switch)."""
    model, loss = disable_component(recipe.model, recipe.loss, component)
    return dataclasses.replace(recipe, model=model, loss=loss)


def mean_or_none(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None
