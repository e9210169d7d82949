"""``weldfusion bench data``: windows/s the DataLoader delivers from HDF5 vs from memory.

Writes its own temporary recordings at the demo-default rates and shapes (video 64x64 grey at
250 Hz, thermal 40x64 degC at 50 Hz, acoustic mic at 16 kHz, electrical 4 ch at 5 kHz; smooth
moving arc/heat spot with sensor noise, short-circuiting voltage, crackling sound), twice: with
the default chunking (``datasets/schema.py`` ``DEFAULT_CHUNK_S``) and with h5py's automatic
("naive") chunking. Then it times full shuffled epochs (batch 32, demo windows 0.4 s / 0.2 s)
of ``WindowDataset`` through ``DataLoader`` with 0 and 2 workers, from HDF5 and from the same
recordings preloaded into memory (the ceiling: identical windows, resampling and
normalisation, no file reads). The best of the timed epochs after a warm-up epoch counts;
epochs of the three settings are interleaved so that other load on the machine hits them alike.
Torch runs with one intra-op thread here (as in DataLoader workers), so that batch collation in the
main process does not wait on a thread pool the machine is too busy to serve.

Results (docs/DESIGN.md names): ``data.windows_per_s.memory`` (0 workers), ``data.windows_per_s.memory.workers2``,
``data.windows_per_s.hdf5.workers{0,2}``, ``data.windows_per_s.hdf5_naive_chunks.workers{0,2}``,
``data.hdf5_share_of_memory.workers{0,2}`` (HDF5 / memory at the same worker count),
``data.naive_share_of_default.workers{0,2}``; contention-proof CPU figures with 0 workers
``data.cpu_ms_per_window.{memory,hdf5,hdf5_naive_chunks}``, ``data.cpu_ms_per_window.read.{hdf5,…}``
(the part spent reading samples; the rest is resampling, derived channels, normalisation),
``data.hdf5_share_of_memory.cpu``, ``data.naive_share_of_default.cpu``; ``data.file_mb.{default,naive}_chunks``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm
from weldfusion.datasets.config import DataConfig
from weldfusion.datasets.schema import RecordingMeta
from weldfusion.datasets.windows import WindowDataset
from weldfusion.datasets.writer import RecordingWriter
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import MATERIAL_PAIRS
from weldfusion.tools.benchmarks.timing import torch_threads

BATCH = 32
RATES = {"video": 250.0, "thermal": 50.0, "acoustic": 16_000.0, "electrical": 5_000.0}
VIDEO_HW = (64, 64)
THERMAL_HW = (40, 64)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data benchmark")
    g.add_argument("--data-recordings", type=int, default=12, help="recordings to write (default 12; --quick 3)")
    g.add_argument("--data-seconds", type=float, default=10.0, help="seconds per recording (default 10; --quick 4)")
    g.add_argument("--data-epochs", type=int, default=3, help="timed epochs per setting (default 3; --quick 1)")


def _blob(h: int, w: int, cy: np.ndarray, cx: np.ndarray, sigma: float) -> np.ndarray:
    """(n, h, w) Gaussian spots centred at (cy, cx) per frame."""
    y = np.arange(h, dtype=np.float32)[None, :, None]
    x = np.arange(w, dtype=np.float32)[None, None, :]
    return np.exp(-((y - cy[:, None, None]) ** 2 + (x - cx[:, None, None]) ** 2) / (2 * sigma**2))


def write_bench_recording(path: Path, rec_id: str, seconds: float, seed: int, naive_chunks: bool = False) -> Path:
    """One plausible demo-rate recording (all four streams, phases, a few defects), written in blocks."""
    rng = np.random.default_rng(seed)
    pair = MATERIAL_PAIRS[seed % len(MATERIAL_PAIRS)]
    meta = RecordingMeta(rec_id, pair, "A", "B", "GMAW", "bench")
    travel = 5.0 + rng.random()
    with RecordingWriter(path, meta, naive_chunks=naive_chunks) as w:
        n = int(seconds * RATES["video"])
        app = w.create_stream("video", sample_shape=VIDEO_HW, dtype=np.uint8, units="gray8", rate=RATES["video"],
                              expected_samples=n)
        for s in range(0, n, 500):
            t = np.arange(s, min(n, s + 500)) / RATES["video"]
            cx = 32 + 8 * np.sin(2 * np.pi * 2.0 * t)  # weaving
            flicker = 0.7 + 0.3 * (np.sin(2 * np.pi * 80 * t) > 0)  # short-circuit flicker
            img = 230 * flicker[:, None, None] * _blob(*VIDEO_HW, np.full(len(t), 34.0), cx, 6.0)
            img += rng.normal(20, 6, img.shape)  # (n, 64, 64) camera noise
            app.append(np.clip(img, 0, 255).astype(np.uint8))
        n = int(seconds * RATES["thermal"])
        t = np.arange(n) / RATES["thermal"]
        cx = 4 + (56 * t / seconds)
        temp = 25 + 1400 * _blob(*THERMAL_HW, np.full(n, 20.0), cx, 5.0) + rng.normal(0, 0.5, (n, *THERMAL_HW))
        w.write_stream("thermal", temp.astype(np.float32), rate=RATES["thermal"], units="degC")
        n = int(seconds * RATES["acoustic"])
        t = np.arange(n) / RATES["acoustic"]
        mic = np.convolve(rng.normal(0, 0.3, n), np.ones(4) / 4, mode="same") * (1 + 0.5 * np.sin(2 * np.pi * 80 * t))
        w.write_stream("acoustic", mic.astype(np.float32), rate=RATES["acoustic"], units="Pa", channel_names=["mic"])
        n = int(seconds * RATES["electrical"])
        t = np.arange(n) / RATES["electrical"]
        short = (np.sin(2 * np.pi * 80 * t) > 0.8)
        el = np.stack([
            200 + 60 * short + rng.normal(0, 3, n),  # current A
            np.where(short, 3.0, 22.0) + rng.normal(0, 0.3, n),  # voltage V
            np.full(n, 8.0) + rng.normal(0, 0.02, n),  # wire feed m/min
            np.full(n, travel) + rng.normal(0, 0.05, n),  # travel speed mm/s
        ], axis=1)
        w.write_stream("electrical", el.astype(np.float32), rate=RATES["electrical"], units="mixed")
        edges = np.array([0.0, 0.05, 0.08, 0.92, 0.95, 1.0]) * seconds
        w.write_labels(
            [(a, b, p) for a, b, p in zip(edges[:-1], edges[1:], ("idle", "arc_start", "deposition", "arc_end", "idle"))],
            [(seconds * 0.4, seconds * 0.45, "porosity"), (seconds * 0.6, seconds * 0.62, "spatter")],
        )
    return path


def _epoch_rate(loader: DataLoader) -> float:
    t0 = time.perf_counter()
    n = sum(len(batch["recording_id"]) for batch in loader)
    return n / (time.perf_counter() - t0)


def windows_per_s(datasets: dict[str, WindowDataset], workers: int, epochs: int) -> dict[str, float]:
    """Best windows/s of each dataset over ``epochs`` timed shuffled epochs after one warm-up epoch.

    Epochs of the datasets are interleaved (A B C A B C …) so that load from other processes on
    the machine affects all of them alike.
    """
    loaders = {}
    for name, ds in datasets.items():
        ds.close()  # nothing open when workers fork
        loaders[name] = DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers,
                                   generator=torch.Generator().manual_seed(0), persistent_workers=workers > 0)
    best = dict.fromkeys(datasets, 0.0)
    for epoch in range(epochs + 1):
        for name, loader in loaders.items():
            rate = _epoch_rate(loader)
            if epoch > 0:
                best[name] = max(best[name], rate)
    del loaders
    for ds in datasets.values():
        ds.close()
    return best


class _TimedSource:
    """Wraps a window source and adds up the CPU seconds spent in its reads."""

    def __init__(self, source) -> None:
        self.source = source
        self.rec = source.rec
        self.seconds = 0.0

    def read_slice(self, name: str, i0: int, i1: int) -> np.ndarray:
        t0 = time.process_time()
        out = self.source.read_slice(name, i0, i1)
        self.seconds += time.process_time() - t0
        return out

    def read_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        t0 = time.process_time()
        out = self.source.read_rows(name, rows)
        self.seconds += time.process_time() - t0
        return out


def cpu_ms_per_window(datasets: dict[str, WindowDataset], indices: np.ndarray, repeats: int) -> dict[str, tuple]:
    """``{name: (read ms, total ms)}``: CPU time per item with 0 workers, split into sample reads and
    the rest (resampling, derived channels, normalisation, tensors); min over interleaved repeats.

    CPU time (``time.process_time``) is what a window costs whatever else runs on the machine.
    """
    best = {name: (np.inf, np.inf) for name in datasets}
    for _ in range(repeats):
        for name, ds in datasets.items():
            entries = ds._recs
            originals = [e.source for e in entries]
            timed = [_TimedSource(src) for src in originals]
            try:
                for e, t in zip(entries, timed):
                    e.source = t
                t0 = time.process_time()
                for i in indices:
                    ds[int(i)]
                total = time.process_time() - t0
            finally:
                for e, src in zip(entries, originals):
                    e.source = src
            n = len(indices)
            read = sum(t.seconds for t in timed) / n * 1e3
            if total / n * 1e3 < best[name][1]:
                best[name] = (read, total / n * 1e3)
    return best


def _dir_mb(d: Path) -> float:
    return sum(p.stat().st_size for p in d.glob("*.h5")) / 1e6


def run(args: argparse.Namespace) -> list[dict]:
    quick = getattr(args, "quick", False)
    n_rec = 3 if quick else args.data_recordings
    seconds = 4.0 if quick else args.data_seconds
    epochs = 1 if quick else args.data_epochs
    if n_rec < 1 or seconds < 1.0 or epochs < 1:
        raise InvalidInput("bench data: --data-recordings >= 1, --data-seconds >= 1 and --data-epochs >= 1 needed")
    with torch_threads(1):  # as in DataLoader workers; the main process's collate must not wait on a busy pool
        return _run(n_rec, seconds, epochs, quick)


def _run(n_rec: int, seconds: float, epochs: int, quick: bool) -> list[dict]:
    cfg = DataConfig()
    out = []
    with tempfile.TemporaryDirectory(prefix="weldfusion_bench_data_") as tmp:
        default_dir, naive_dir = Path(tmp, "default"), Path(tmp, "naive")
        default_dir.mkdir()
        naive_dir.mkdir()
        for i in tqdm(range(n_rec), desc="writing bench recordings", unit="rec", leave=False):
            write_bench_recording(default_dir / f"bench_{i:02d}.h5", f"bench_{i:02d}", seconds, i)
            write_bench_recording(naive_dir / f"bench_{i:02d}.h5", f"bench_{i:02d}", seconds, i, naive_chunks=True)
        hdf5 = WindowDataset(default_dir, cfg)
        naive = WindowDataset(naive_dir, cfg)
        memory = WindowDataset(default_dir, DataConfig(preload=True))
        rates = {}
        for workers in (0, 2):
            best = windows_per_s({"memory": memory, "hdf5": hdf5, "hdf5_naive_chunks": naive}, workers, epochs)
            rates.update({(kind, workers): value for kind, value in best.items()})
        idx = np.random.default_rng(0).permutation(len(hdf5))[: min(len(hdf5), 64 if quick else 256)]
        cpu = cpu_ms_per_window({"memory": memory, "hdf5": hdf5, "hdf5_naive_chunks": naive}, idx, 1 if quick else 3)
        for ds in (memory, hdf5, naive):
            ds.close()
        out.append({"name": "data.windows_per_s.memory", "value": rates[("memory", 0)], "unit": "windows/s"})
        out.append({"name": "data.windows_per_s.memory.workers2", "value": rates[("memory", 2)], "unit": "windows/s"})
        for kind in ("hdf5", "hdf5_naive_chunks"):
            for workers in (0, 2):
                out.append({"name": f"data.windows_per_s.{kind}.workers{workers}", "value": rates[(kind, workers)],
                            "unit": "windows/s"})
        for workers in (0, 2):
            out.append({"name": f"data.hdf5_share_of_memory.workers{workers}",
                        "value": rates[("hdf5", workers)] / rates[("memory", workers)], "unit": "ratio"})
        for workers in (0, 2):
            out.append({"name": f"data.naive_share_of_default.workers{workers}",
                        "value": rates[("hdf5_naive_chunks", workers)] / rates[("hdf5", workers)], "unit": "ratio"})
        for kind in ("memory", "hdf5", "hdf5_naive_chunks"):
            out.append({"name": f"data.cpu_ms_per_window.{kind}", "value": cpu[kind][1], "unit": "ms"})
        for kind in ("hdf5", "hdf5_naive_chunks"):
            out.append({"name": f"data.cpu_ms_per_window.read.{kind}", "value": cpu[kind][0], "unit": "ms"})
        out.append({"name": "data.hdf5_share_of_memory.cpu", "value": cpu["memory"][1] / cpu["hdf5"][1],
                    "unit": "ratio"})
        out.append({"name": "data.naive_share_of_default.cpu", "value": cpu["hdf5"][1] / cpu["hdf5_naive_chunks"][1],
                    "unit": "ratio"})
        out.append({"name": "data.file_mb.default_chunks", "value": _dir_mb(default_dir), "unit": "MB"})
        out.append({"name": "data.file_mb.naive_chunks", "value": _dir_mb(naive_dir), "unit": "MB"})
        out.append({"name": "data.windows", "value": float(len(hdf5)), "unit": "windows"})
    return out
