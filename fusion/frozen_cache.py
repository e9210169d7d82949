"""Tensors derived from parameters only (fused conv weights), computed once per parameter state at inference.

Several blocks run a re-parameterised form of their weights (MS-STAN's depthwise x pointwise
temporal convs as one dense conv, the electrical encoder's depthwise branches as one grouped
conv). Training needs that product rebuilt every step (gradients flow through it); inference
does not, and at batch 1 rebuilding it is a good share of the forward (two einsums per block).
:func:`derived_weights` returns the cached result while gradients are off and none of the source
parameters has changed — a parameter's in-place version counter (optimiser steps,
``load_state_dict``) and storage are the key — and rebuilds it otherwise. While tracing or exporting
(TorchScript, ONNX) it always rebuilds, so the graph keeps the computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def _key(params: Sequence[Tensor]) -> tuple:
    return tuple((p._version, p.data_ptr(), p.dtype, p.device, tuple(p.shape)) for p in params)


def derived_weights(module: nn.Module, params: Sequence[Tensor], build: Callable[[], tuple[Tensor, ...]]
                    ) -> tuple[Tensor, ...]:
    """``build()`` — tensors that depend on ``params`` only — cached on ``module`` for inference (see module docstring)."""
    if torch.is_grad_enabled() or torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export():
        module.__dict__.pop("_derived_weights", None)
        return build()
    key = _key(params)
    cached = module.__dict__.get("_derived_weights")
    if cached is None or cached[0] != key:
        cached = (key, build())
        module.__dict__["_derived_weights"] = cached
    return cached[1]
