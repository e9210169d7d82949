"""Where a window's samples come from: an HDF5 recording read lazily, or arrays held in memory.

Both wrap a :class:`weldfusion.datasets.reader.Recording` (which keeps the metadata, timestamps
and per-process file handle) and add row reads of one stream. :class:`HDF5Source` caches the
``h5py.Dataset`` objects per process and drops them when pickled, so a source made in the parent
is safe inside ``DataLoader`` workers; :class:`MemorySource` reads every stream once (the
in-memory ceiling of the data benchmark, or small data sets).
"""

from __future__ import annotations

import os

import h5py
import numpy as np
from weldfusion.datasets.reader import Recording


class HDF5Source:
    """Reads stream rows from the recording file, opened lazily once per process."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self._ds: dict[str, h5py.Dataset] = {}
        self._pid: int | None = None

    def _dataset(self, name: str) -> h5py.Dataset:
        if self._pid != os.getpid():
            self._ds = {}
            self._pid = os.getpid()
        ds = self._ds.get(name)
        if ds is None:
            ds = self._ds[name] = self.rec.h5["streams"][name]["data"]
        return ds

    def read_slice(self, name: str, i0: int, i1: int) -> np.ndarray:
        """Rows i0..i1-1 of stream ``name``: (i1 - i0, *sample_shape)."""
        return self._dataset(name)[i0:i1]

    def read_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (sorted, unique) of stream ``name``: (len(rows), *sample_shape).

        A dense run is read as one slice; sparse rows (16 frames out of 100 in a demo window, or
        out of 4000 at 10 kHz) one by one, so that with frame-sized chunks only the chunks holding
        them are decompressed (h5py's list selection is several times slower than either).
        """
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        if hi - lo <= 2 * len(rows):
            return self.read_slice(name, lo, hi)[rows - lo]
        ds = self._dataset(name)
        out = np.empty((len(rows), *ds.shape[1:]), dtype=ds.dtype)
        for j, r in enumerate(rows):
            out[j] = ds[int(r)]
        return out

    def close(self) -> None:
        self._ds = {}
        self._pid = None
        self.rec.close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_ds"] = {}
        state["_pid"] = None
        return state


class MemorySource:
    """Every stream of ``names`` read into memory at construction (the file is closed afterwards)."""

    def __init__(self, rec: Recording, names: list[str]) -> None:
        self.rec = rec
        self._arrays = {name: rec.h5["streams"][name]["data"][()] for name in names if name in rec.streams}
        rec.close()

    def read_slice(self, name: str, i0: int, i1: int) -> np.ndarray:
        return self._arrays[name][i0:i1]

    def read_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        return self._arrays[name][rows]

    def close(self) -> None:
        self.rec.close()
