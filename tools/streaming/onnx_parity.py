"""Export a trained model to ONNX and keep the file only if ONNX Runtime reproduces it.

The library behind ``weldfusion export``: the parity check runs the eager model and ONNX Runtime
on random inputs for every presence mask of :func:`presence_masks` and compares probabilities and
modality weights to :data:`ATOL`.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import torch
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.onnx_backend import OnnxBackend
from weldfusion.tools.streaming.onnx_export import example_inputs, export_onnx
from weldfusion.tools.training.loading import Trained, load_trained

#: ONNX Runtime must reproduce the eager probabilities / weights to this absolute tolerance.
ATOL = 1e-4



def presence_masks(m: int) -> list[np.ndarray]:
    """Every non-empty subset of ``m`` modalities (at most 16 masks: all single, all-but-one and all)."""
    subsets = [s for k in range(1, m + 1) for s in itertools.combinations(range(m), k)]
    if len(subsets) > 16:
        subsets = [s for s in subsets if len(s) in (1, m - 1, m)]
    masks = []
    for s in subsets:
        mask = np.zeros(m, dtype=bool)
        mask[list(s)] = True
        masks.append(mask)
    return masks


def verify(model, info, path: Path, threads: int = 1, batch: int = 1) -> float:
    """Largest absolute difference between ONNX Runtime and the eager model over random inputs with
    every presence mask of :func:`presence_masks` (``batch``: the exported batch size)."""
    ort = OnnxBackend(path, threads=threads)
    eager = EagerBackend(model)
    worst = 0.0
    with torch.inference_mode():
        for k, mask in enumerate(presence_masks(len(info.names))):
            inputs = example_inputs(info, batch=batch, seed=100 + k, present=mask)
            a, b = eager.predict(inputs), ort.predict(inputs)
            worst = max(worst, *(float(np.abs(a[key] - b[key]).max()) for key in a))
    return worst


def export_checked(checkpoint: str | os.PathLike, onnx_path: str | os.PathLike, *, opset: int = 17, batch: int = 1,
                   threads: int = 1) -> tuple[Trained, float]:
    """Export ``checkpoint`` to ``onnx_path`` (through a temporary file of this process, renamed only
    when the parity check passes); returns the loaded model and the largest difference found."""
    onnx_path = Path(onnx_path)
    torch.set_num_threads(threads)  # batch-1 checks: more threads only contend on a shared CPU
    trained = load_trained(checkpoint)
    tmp = onnx_path.with_name(f".{onnx_path.stem}.{os.getpid()}.verify.onnx")  # one per process
    try:
        export_onnx(trained.model, trained.info, tmp, opset=opset, batch=batch, source=str(trained.path))
        worst = verify(trained.model, trained.info, tmp, threads=threads, batch=batch)
        if not worst <= ATOL:
            raise InvalidInput(f"{onnx_path}: ONNX Runtime differs from PyTorch by {worst:.3g} (> {ATOL}); not written")
        tmp.replace(onnx_path)
    finally:
        tmp.unlink(missing_ok=True)
    return trained, worst
