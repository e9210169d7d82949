"""Export a trained model to ONNX and keep the file only if ONNX Runtime reproduces it.

The library behind ``weldfusion export``: the parity check (:mod:`~.parity`) runs the eager model
and ONNX Runtime on random inputs for every presence mask and compares probabilities and modality
weights to :data:`~.parity.ATOL`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.onnx_backend import OnnxBackend
from weldfusion.tools.streaming.onnx_export import export_onnx
from weldfusion.tools.streaming.parity import ATOL, max_difference
from weldfusion.tools.training.loading import Trained, load_trained


def verify(model, info, path: Path, threads: int = 1, batch: int = 1) -> float:
    """Largest absolute difference between ONNX Runtime and the eager model (:func:`~.parity.max_difference`)
    over random inputs with every presence mask (``batch``: the exported batch size)."""
    return max_difference(EagerBackend(model), OnnxBackend(path, threads=threads), info, batch=batch)


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


def export_in_memory(model, info, *, threads: int = 1, batch: int = 1) -> OnnxBackend:
    """An ONNX Runtime backend of ``model`` exported here (through a temporary file, removed once the
    session holds the graph) and kept only if it passes the parity check; ``ValueError`` otherwise."""
    with tempfile.TemporaryDirectory(prefix="weldfusion-onnx-") as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            export_onnx(model, info, path, batch=batch)
        except InvalidInput as err:
            raise ValueError(str(err)) from None
        backend = OnnxBackend(path, threads=threads)
    worst = max_difference(EagerBackend(model), backend, info, batch=batch)
    if not worst <= ATOL:
        raise ValueError(f"ONNX Runtime differs from the eager model by {worst:.3g} (> {ATOL})")
    return backend
