"""The one timing harness of ``bench model`` and ``bench baselines`` (and ``bench stream``): the demo
window layout, random batches, interleaved median timings, parameter counts, torch thread counts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from weldfusion.datasets.info import PARAM_NAMES, DataInfo, ModalityShape
from weldfusion.recipes.taxonomy import DEFAULT_DEFECTS, DEFAULT_PHASES, MATERIAL_PAIRS


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads; the previous count is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


ELECTRICAL_CHANNELS = ("current", "voltage", "wire_feed", "travel_speed", "power", "heat_input", "short_circuit")


def demo_info(window_s: float = 0.4) -> DataInfo:
    """Window layout of the demo data: video 16x64x64 (40 Hz in-window), thermal 8x40x64,
    acoustic 1x6400 at 16 kHz, electrical 7x800 at 2 kHz; 6 phases, 6 defects, 3 pairs."""
    mods = (
        ModalityShape("video", "image", (16, 64, 64), rate=16 / window_s),
        ModalityShape("thermal", "image", (8, 40, 64), rate=8 / window_s),
        ModalityShape("acoustic", "signal", (1, 6400), ("mic",), rate=6400 / window_s),
        ModalityShape("electrical", "signal", (7, 800), ELECTRICAL_CHANNELS, rate=800 / window_s),
    )
    return DataInfo(mods, DEFAULT_PHASES, DEFAULT_DEFECTS, MATERIAL_PAIRS, window_s, PARAM_NAMES)


def random_batch(info: DataInfo, batch: int, device: str = "cpu", seed: int = 0) -> dict:
    """All-present batch of the ``datasets/info.py`` contract filled with seeded noise."""
    g = torch.Generator().manual_seed(seed)
    out = {m.name: torch.randn((batch, *m.shape), generator=g) for m in info.modalities}
    out["present"] = torch.ones(batch, len(info.names), dtype=torch.bool)
    out["params"] = torch.randn(batch, len(info.params), generator=g)
    out["pair"] = torch.randint(0, len(info.pairs), (batch,), generator=g)
    return {k: v.to(device) for k, v in out.items()}


def median_seconds(fns: dict[str, Callable[[], object]], repeats: int, warmup: int,
                   device: str = "cpu") -> dict[str, float]:
    """Median wall time of each ``fn()`` over ``repeats`` rounds after ``warmup`` rounds.

    The functions are called in turn inside each round, so slow drifts of a shared machine's load
    hit all of them alike and their ratios stay meaningful.
    """
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


