"""Tensors derived from parameters only (fused conv weights), computed once per parameter state at inference.

Several blocks run a re-parameterised form of their weights (MS-STAN's depthwise x pointwise
temporal convs as one dense conv, the electrical encoder's depthwise branches as one grouped
conv). Training needs that product rebuilt every step (gradients flow through it); inference
does not, and at batch 1 rebuilding it is a good share of the forward (two einsums per block).
:func:`derived_weights` returns the cached result while gradients are off and none of the source
parameters has changed — a parameter's in-place version counter (optimiser steps,
``load_state_dict``) and storage are the key — and rebuilds it otherwise. While tracing or exporting
(TorchScript, ONNX) it always rebuilds, so the graph keeps the computation. :func:`conv_bn` folds a
batch norm into the conv before it the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def _key(params: Sequence[Tensor]) -> tuple:
    return tuple((p._version, p.data_ptr(), p.dtype, p.device, tuple(p.shape)) for p in params)


def frozen() -> bool:
    """True when cached or folded inference weights may be used: gradients off, not tracing or exporting."""
    return not (torch.is_grad_enabled() or torch.jit.is_tracing() or torch.jit.is_scripting()
                or torch.onnx.is_in_onnx_export())


def derived_weights(module: nn.Module, params: Sequence[Tensor], build: Callable[[], tuple[Tensor, ...]],
                    slot: str = "") -> tuple[Tensor, ...]:
    """``build()`` — tensors that depend on ``params`` only — cached on ``module`` (under ``slot``, one per
    re-parameterisation the module runs) for inference (see module docstring)."""
    cache = module.__dict__.setdefault("_derived_weights", {})
    if not frozen():
        cache.pop(slot, None)
        return build()
    if any(p.is_inference() for p in params):  # no version counter to watch (made under inference_mode)
        cache.pop(slot, None)
        return build()
    key = _key(params)
    hit = cache.get(slot)
    if hit is None or hit[0] != key:
        hit = cache[slot] = (key, build())
    return hit[1]


def conv_bn(owner: nn.Module, conv: nn.Module, bn: nn.Module, x: Tensor) -> Tensor:
    """``bn(conv(x))`` for a ``nn.Conv1d``/``nn.Conv2d`` and its batch norm; in eval mode at inference one
    conv with the batch norm's affine map folded into its weights (cached like :func:`derived_weights`):
    the same function up to float rounding, one op fewer."""
    if owner.training or bn.training or not frozen() or not bn.track_running_stats:
        return bn(conv(x))

    def fold() -> tuple[Tensor, Tensor]:
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)  # (C_out,)
        weight = conv.weight * scale.reshape(-1, *[1] * (conv.weight.dim() - 1))
        bias = bn.bias - bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        return weight.contiguous(), bias

    params = [conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var]
    params += [conv.bias] if conv.bias is not None else []
    weight, bias = derived_weights(owner, params, fold, slot=f"conv_bn:{id(conv)}")
    if any(d != 1 for d in conv.dilation):  # a dilated conv with a bias is a slow path (4x at batch 1)
        return conv._conv_forward(x, weight, None) + bias.reshape(-1, *[1] * (x.dim() - 2))
    return conv._conv_forward(x, weight, bias)
