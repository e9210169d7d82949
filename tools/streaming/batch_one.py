"""Which CPU kernels a batch-1 forward runs (the live monitor's hop): oneDNN's or PyTorch's own.

oneDNN sets up a primitive per call: about 6 us for a GELU of 64 numbers, where PyTorch's native
kernel takes 1.3 us. Over the ~1,800 small ops of the fusion model's batch-1 forward the native
kernels are 5-10 % faster on one thread; for a network of a few large convolutions (the CNN+LSTM
baseline) oneDNN is 1.8x faster, and with two threads the native convolutions lose badly (2-7x).
So the choice is measured per model, on its own inputs, at the thread count it will run with
(:func:`faster_native`), not assumed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

import torch

#: The native kernels are chosen only when at least this much faster (the default is oneDNN's).
MARGIN = 0.97


@contextmanager
def native_cpu_kernels(enabled: bool = True):
    """With ``enabled``, PyTorch's own CPU kernels instead of oneDNN's inside the block
    (``torch.backends.mkldnn.enabled``, restored on exit; outputs agree within ~1e-7)."""
    if not enabled:
        yield
        return
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def faster_native(forward: Callable[[], object], trials: int = 7, warm: int = 2) -> tuple[bool, dict[str, float]]:
    """Time ``forward()`` (one batch-1 call) with oneDNN and with the native kernels, interleaved;
    returns (native is faster by more than 1 - :data:`MARGIN`, median ms of each)."""
    for _ in range(warm):
        for native in (False, True):
            with native_cpu_kernels(native):
                forward()
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(trials):
        for native in (False, True):
            with native_cpu_kernels(native):
                t = time.perf_counter()
                forward()
                times[native].append(time.perf_counter() - t)
    ms = {("native" if k else "onednn"): 1000.0 * statistics.median(v) for k, v in times.items()}
    return ms["native"] < MARGIN * ms["onednn"], ms
