"""TorchScript backend of the streaming engine: the checkpoint's model traced and frozen in-process.

Why: at batch 1 the eager model pays per-op dispatch and Python overhead for several hundred tiny
ops per window; a frozen TorchScript graph runs the same ops from C++ with batch norms folded
into the convolutions and parameter-only expressions (fused conv weights, masks) pre-computed, at
about half the eager time on 2 CPU cores (``weldfusion bench baselines``:
``model.ms_per_window.fusion_all_torchscript.b1``). No file is written and no extra dependency is
needed; the graph is rebuilt from the checkpoint at start (about 0.4 s).

How: a copy of the model with ``skip_absent`` off (every encoder runs on every sample and the
presence mask selects, as in the ONNX export, so one graph serves every presence pattern) is traced
with :func:`torch.jit.trace` on example inputs of batch ``batch`` and frozen. Reshape sizes become
constants of the trace, so the batch size is fixed. :func:`build_checked` keeps it only if it
reproduces the eager model within :data:`~.parity.ATOL` for every presence mask.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from torch import nn
from weldfusion.tools.streaming.batch_one import faster_native, native_cpu_kernels
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.onnx_export import INPUT_EXTRA, OUTPUTS, ExportWrapper, example_inputs
from weldfusion.tools.streaming.parity import ATOL, max_difference


class TorchScriptBackend:
    """``predict(inputs) -> {"phase_probs", "defect_probs", "modality_weights"}`` with a frozen trace.

    Args:
        model: the trained fusion model (CPU; it is copied, not changed).
        info: its ``DataInfo`` (input shapes and order).
        batch: the batch size every call must have (1 for streaming).
    """

    name = "torchscript"

    def __init__(self, model: nn.Module, info, batch: int = 1) -> None:
        if next(model.parameters()).device.type != "cpu":
            raise ValueError("the TorchScript backend traces CPU models (use the eager backend on other devices)")
        traced = copy.deepcopy(model).eval()
        traced.skip_absent = False
        self.names = (*info.names, *INPUT_EXTRA)
        self.batch = batch
        example = example_inputs(info, batch=batch)
        args = tuple(torch.from_numpy(example[k]) for k in self.names)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the Python-level presence check
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript: see the module docstring
            self.module = torch.jit.freeze(torch.jit.trace(ExportWrapper(traced).eval(), args, check_trace=False))
        #: native CPU kernels instead of oneDNN's, when measured faster for this trace (batch 1 only)
        self.native_kernels = False
        if batch == 1:
            with torch.inference_mode():
                self.native_kernels, _ = faster_native(lambda: self.module(*args))

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """inputs: the model batch as arrays (batch axis first) -> the three outputs as (B, ...) arrays."""
        rows = inputs["present"].shape[0]
        if rows != self.batch:
            raise ValueError(f"TorchScript backend traced for batch {self.batch}, got {rows} rows")
        with torch.inference_mode(), native_cpu_kernels(self.native_kernels):
            outs = self.module(*(torch.from_numpy(np.ascontiguousarray(inputs[k])) for k in self.names))
        return {k: v.float().numpy() for k, v in zip(OUTPUTS, outs)}


def build_checked(model: nn.Module, info, batch: int = 1) -> tuple[TorchScriptBackend, float]:
    """A :class:`TorchScriptBackend` of ``model`` and its largest difference from the eager model;
    ``ValueError`` when it does not trace or differs by more than :data:`~.parity.ATOL`."""
    try:
        backend = TorchScriptBackend(model, info, batch=batch)
    except (RuntimeError, torch.jit.Error) as err:  # an op the tracer cannot record
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise ValueError(f"the model does not trace to TorchScript ({first})") from None
    worst = max_difference(EagerBackend(model), backend, info, batch=batch)
    if not worst <= ATOL:
        raise ValueError(f"TorchScript differs from the eager model by {worst:.3g} (> {ATOL})")
    return backend, worst
