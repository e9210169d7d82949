"""Which CPU kernels a batch-1 forward runs (the live monitor's hop)."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def batch_one_kernels(device: torch.device, batch: int):
    """PyTorch's own CPU kernels instead of oneDNN's for a batch of one (the live hop).

    oneDNN sets up a primitive per call: about 6 us for a GELU of 64 numbers, where the native
    kernel takes 1.3 us; over the ~1,800 ops of a batch-1 forward the native kernels make the live
    hop 4-8 % faster (same-process A/B of ``stream`` replays, session 15). At batch 32 oneDNN is 7x faster, so only
    batch-1 CPU calls switch it off (``torch.backends.mkldnn.enabled``, restored on exit; outputs
    agree within 1e-7).
    """
    if device.type != "cpu" or batch != 1:
        yield
        return
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before
