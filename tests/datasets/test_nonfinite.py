"""A sensor that reports NaN/inf is a missing sensor for those samples, not a source of NaN outputs."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from _window_recordings import tiny_config, write_tiny
from weldfusion.datasets.windows import WindowDataset
from weldfusion.recipes.errors import DataWarning


def _poison(path, name: str, t0: float, t1: float) -> None:
    with h5py.File(path, "a") as f:
        g = f[f"streams/{name}"]
        rate, start = g.attrs["rate"], g.attrs.get("starting_time", 0.0)
        i0, i1 = int((t0 - start) * rate), int((t1 - start) * rate)
        data = g["data"][()]
        data[i0:i1] = np.nan
        del g["data"]
        g.create_dataset("data", data=data)


def test_nan_samples_mark_the_sensor_absent_in_their_windows_only(tmp_path):
    path = write_tiny(tmp_path / "r.h5", duration=2.4)
    _poison(path, "electrical", 0.0, 0.6)  # the first quarter of the process data reads NaN
    _poison(path, "thermal", 1.8, 2.4)
    ds = WindowDataset(path, tiny_config())
    names = list(ds.modality_names)
    with pytest.warns(DataWarning, match="non-finite"):
        items = [ds[i] for i in range(len(ds))]
    for item in items:
        t0 = float(item["t0"])
        for name in names:
            assert np.isfinite(item[name].numpy()).all()
        assert np.isfinite(item["params"].numpy()).all()
        electrical = bool(item["present"][names.index("electrical")])
        if t0 + ds.window_s <= 0.6:  # inside the NaN stretch: absent
            assert not electrical, t0
        elif t0 >= 1.0:  # clear of it and of the resampling filter's reach (0.36 s here): present
            assert electrical, t0
        assert bool(item["present"][names.index("video")])  # the other sensors are untouched
        if t0 >= 1.8:
            assert not bool(item["present"][names.index("thermal")]), t0  # its frames from 1.8 s are NaN
        elif t0 + ds.window_s <= 1.8:
            assert bool(item["present"][names.index("thermal")]), t0
    assert any(not bool(i["present"][names.index("electrical")]) for i in items)
