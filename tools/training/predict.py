"""Run a model over a loader and collect what the metrics need, as NumPy arrays.

Used by the trainer (validation every epoch) and by ``evaluate``/``ablate``/``transfer``: an
optional ``transform(batch) -> batch`` is applied on the device before the forward pass (e.g. to
mask a modality by clearing its ``present`` column).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext

import numpy as np
import torch
from torch.utils.data import default_collate
from tqdm import tqdm
from weldfusion.recipes.errors import InvalidInput

ARRAY_KEYS = ("phase_probs", "defect_probs", "phase", "defects", "pair", "t0", "present")
TEXT_KEYS = ("recording_id", "material_pair", "process")


def to_device(batch: dict, device: torch.device) -> dict:
    """Tensors of ``batch`` moved to ``device``; other values (lists of str) unchanged."""
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def autocast(device: torch.device, enabled: bool):
    """float16 autocast on CUDA when ``enabled``; a no-op context otherwise (CPU runs in float32)."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return nullcontext()


@torch.no_grad()
def predict(model: torch.nn.Module, loader: Iterable[dict], device: torch.device, *,
            loss_fn: Callable[[dict, dict], dict] | None = None, amp: bool = False,
            transform: Callable[[dict], dict] | None = None, keep: tuple[str, ...] = ("modality_weights",),
            progress: str | None = None, on_batch: Callable[[dict, dict], None] | None = None) -> dict:
    """Predictions for every window of ``loader`` (model in eval mode, restored afterwards).

    Returns a dict of arrays with N = windows seen:
        ``phase_probs`` (N, P), ``defect_probs`` (N, D), ``phase`` (N,) int, ``defects`` (N, D),
        ``pair`` (N,) int, ``t0`` (N,) s, ``present`` (N, M) bool, ``recording_id``/``material_pair``/``process`` (N,) str,
        any model output named in ``keep`` (e.g. ``modality_weights`` (N, M), ``embedding`` (N, E)),
        and ``loss_sum`` (1,) / ``loss_count`` (1,) when ``loss_fn`` is given (sum of per-batch
        ``total`` weighted by batch size, so that ranks can be summed).
    ``on_batch(batch, outputs)`` sees every batch and the model's outputs (e.g. the localisation scorer).
    """
    was_training = model.training
    model.eval()
    out: dict[str, list] = {k: [] for k in (*ARRAY_KEYS, *TEXT_KEYS, *keep)}
    loss_sum, count = 0.0, 0
    bar = tqdm(loader, desc=progress, leave=False, dynamic_ncols=True) if progress else loader
    try:
        for batch in bar:
            batch = to_device(batch, device)
            if transform is not None:
                batch = transform(batch)
            with autocast(device, amp):
                outputs = model(batch)
                if loss_fn is not None:
                    n = int(batch["phase"].shape[0])
                    loss_sum += float(loss_fn(outputs, batch)["total"].float()) * n
                    count += n
            if on_batch is not None:
                on_batch(batch, outputs)
            out["phase_probs"].append(outputs["phase_probs"].float().cpu().numpy())
            out["defect_probs"].append(outputs["defect_probs"].float().cpu().numpy())
            for k in ("phase", "defects", "pair", "t0", "present"):
                out[k].append(batch[k].cpu().numpy())
            for k in TEXT_KEYS:
                out[k].append(np.asarray(batch[k], dtype=object))
            for k in keep:
                if k in outputs:
                    out[k].append(outputs[k].float().cpu().numpy())
    finally:
        model.train(was_training)
    result = {k: np.concatenate(v, axis=0) for k, v in out.items() if v}
    if not result:
        raise InvalidInput("no windows to predict on (empty data split)")
    if loss_fn is not None:
        result["loss_sum"] = np.array([loss_sum])
        result["loss_count"] = np.array([count])
    return result


@torch.no_grad()
def measure_latency(model: torch.nn.Module, dataset, device: torch.device, n: int = 30, warmup: int = 3,
                    batch_size: int = 32, amp: bool = False) -> dict:
    """Forward-pass time per window: ``ms_per_window`` at batch 1 (median over ``n`` windows, after
    ``warmup`` passes; what a live monitor pays per new window) and ``ms_per_window_batched`` at
    ``batch_size``. Data loading and normalisation are not included.

    On CPU the batch-1 passes run on one torch thread, as the live monitor does (``weldfusion
    stream``): on a small box, per-op thread synchronisation costs more than it saves at batch 1
    and makes the figure swing with the machine's load. The batched passes use the default threads.
    """

    if len(dataset) == 0:
        raise InvalidInput("no windows to time")
    was_training = model.training
    model.eval()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    items = [dataset[i % len(dataset)] for i in range(max(n, 1) + warmup)]
    times = []
    default_threads = torch.get_num_threads()
    b1_threads = 1 if device.type == "cpu" else default_threads
    try:
        torch.set_num_threads(b1_threads)
        for k, item in enumerate(items):
            batch = to_device(default_collate([item]), device)
            sync()
            t0 = time.perf_counter()
            with autocast(device, amp):
                model(batch)
            sync()
            if k >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
        torch.set_num_threads(default_threads)
        bsz = min(batch_size, len(dataset))
        batch = to_device(default_collate([dataset[i] for i in range(bsz)]), device)
        with autocast(device, amp):
            model(batch)  # warm-up at this shape
        sync()
        t0 = time.perf_counter()
        reps = 3
        for _ in range(reps):
            with autocast(device, amp):
                model(batch)
        sync()
        batched = (time.perf_counter() - t0) * 1e3 / (reps * bsz)
    finally:
        torch.set_num_threads(default_threads)
        model.train(was_training)
    return {"ms_per_window": float(np.median(times)), "ms_per_window_mean": float(np.mean(times)),
            "ms_per_window_p90": float(np.percentile(times, 90)), "ms_per_window_batched": float(batched),
            "batch_size": int(bsz), "windows_timed": len(times), "device": str(device),
            "threads": b1_threads, "threads_batched": default_threads}
