"""Reader of the strain gauge's CSV export: a time column (s) and one ``strain`` column (um/m)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from weldfusion.sensors.raw_source import IngestError, RawSource


def open_source(manifest, name: str = "strain") -> RawSource:
    spec = manifest.streams[name]
    (path,) = manifest.stream_files(name)
    table = pd.read_csv(path)
    column = spec.time_column or "t"
    if column not in table or "strain" not in table:
        raise IngestError(f"{path}: needs columns {column!r} and 'strain'")
    times = table[column].to_numpy(np.float64)
    data = table["strain"].to_numpy(np.float32)[:, None]  # (N, 1)
    rate = float(np.round(1.0 / np.median(np.diff(times))))
    return RawSource(path=path, modality=name, sample_shape=(1,), dtype=np.dtype(np.float32), units="um/m",
                     rate=rate, start=float(times[0]), n=len(data), channel_names=("strain",),
                     channel_units=("um/m",), make_blocks=lambda: iter([data]))
