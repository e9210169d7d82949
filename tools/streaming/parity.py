"""Parity of an inference backend with the eager model: the one check behind ``weldfusion export``
(ONNX Runtime) and the TorchScript backend of ``stream``.

Both backends run the same random inputs (:func:`~.onnx_export.example_inputs`) for every presence
mask of :func:`presence_masks`; the largest absolute difference of the probabilities and modality
weights must stay within :data:`ATOL`.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from weldfusion.tools.streaming.onnx_export import OUTPUTS, example_inputs

#: A backend must reproduce the eager probabilities / weights to this absolute tolerance.
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


def max_difference(reference, candidate, info, batch: int = 1, seed: int = 100) -> float:
    """Largest absolute difference between two backends' outputs (``predict(inputs) -> dict``) over
    seeded random inputs of ``info``'s shapes with every presence mask of :func:`presence_masks`."""
    worst = 0.0
    with torch.inference_mode():
        for k, mask in enumerate(presence_masks(len(info.names))):
            inputs = example_inputs(info, batch=batch, seed=seed + k, present=mask)
            a, b = reference.predict(inputs), candidate.predict(inputs)
            worst = max(worst, *(float(np.abs(a[key] - b[key]).max()) for key in OUTPUTS))
    return worst
