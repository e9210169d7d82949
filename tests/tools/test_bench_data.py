"""``weldfusion bench data --quick``: runs end to end and reports the docs/DESIGN.md result names."""

from __future__ import annotations

import json
import time

import h5py
import pytest
from weldfusion.tools import bench
from weldfusion.tools.benchmarks.data import write_bench_recording


def test_bench_recording_has_demo_rates_and_chunking(tmp_path):
    path = write_bench_recording(tmp_path / "b.h5", "b", seconds=1.0, seed=0)
    with h5py.File(path, "r") as f:
        s = f["streams"]
        assert s["video"]["data"].shape == (250, 64, 64) and s["video"]["data"].chunks == (1, 64, 64)
        assert s["thermal"]["data"].shape == (50, 40, 64)
        assert s["acoustic"]["data"].shape == (16000,) and s["electrical"]["data"].shape == (5000, 4)
    naive = write_bench_recording(tmp_path / "n.h5", "n", seconds=1.0, seed=0, naive_chunks=True)
    with h5py.File(naive, "r") as f:
        assert f["streams"]["video"]["data"].chunks != (1, 64, 64)


@pytest.mark.slow
def test_bench_data_quick_json(tmp_path):
    out = tmp_path / "bench.json"
    t0 = time.perf_counter()
    assert bench.main(["data", "--quick", "--json", str(out)]) == 0
    assert time.perf_counter() - t0 < 30.0
    report = json.loads(out.read_text())
    assert set(report["machine"]) >= {"cpu", "cores", "torch", "device"}
    values = {r["name"]: r["value"] for r in report["results"]}
    for name in ("data.windows_per_s.memory", "data.windows_per_s.hdf5.workers0", "data.windows_per_s.hdf5.workers2",
                 "data.windows_per_s.hdf5_naive_chunks.workers0", "data.hdf5_share_of_memory.workers2",
                 "data.cpu_ms_per_window.hdf5", "data.hdf5_share_of_memory.cpu"):
        assert values[name] > 0, name
    assert values["data.windows"] == 3 * 19  # 3 recordings of 4 s: windows at 0, 0.2, ..., 3.6
