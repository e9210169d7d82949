"""Read a weldfusion recording by time interval, touching only the chunks that are needed.

:class:`Recording` opens its HDF5 file lazily and drops the handle when pickled, so a
``Recording`` made in the parent process is safe to use inside ``DataLoader`` workers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from weldfusion.datasets.sample_times import regular_times
from weldfusion.datasets.schema import TIME_EPS, array_to_labels
from weldfusion.datasets.validate import structural_problems
from weldfusion.recipes.errors import InvalidInput, MissingInput, UnreadableInput
from weldfusion.recipes.taxonomy import LabelInterval


@dataclass(frozen=True)
class StreamInfo:
    """What a stream is, without its samples.

    ``t_start``/``t_end`` span the samples: ``t_end`` is the last sample time + one nominal period.
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    units: str
    channel_names: tuple[str, ...]
    rate: float | None
    starting_time: float | None
    regular: bool
    t_start: float
    t_end: float
    gaps: np.ndarray  # (G, 2) float64
    sensor: str
    attrs: dict

    @property
    def n(self) -> int:
        return self.shape[0]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.shape[1:]


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return [_decode(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def invalid_share(t0: float, t1: float, t_start: float, t_end: float, gaps: np.ndarray) -> float:
    """Share of [t0, t1) inside a gap (G, 2) or outside the valid span [t_start, t_end); 0 = all valid."""
    length = t1 - t0
    if length <= 0:
        return 0.0
    invalid = length - max(0.0, min(t1, t_end) - max(t0, t_start))
    for g0, g1 in gaps:
        lo, hi = max(g0, t0, t_start), min(g1, t1, t_end)
        if hi > lo:
            invalid += hi - lo
    return float(min(1.0, invalid / length))


class Recording:
    """A recording file opened lazily for time-interval reads.

    Opening checks the file's structure (:func:`~weldfusion.datasets.validate.structural_problems`:
    attributes, shapes, rates, clocks, timestamps, gaps, labels — no sample data is read) and
    refuses a broken file with :class:`~weldfusion.recipes.errors.InvalidInput` naming the file and
    its first problem; ``check=False`` skips that (``inspect``, which reports the problems itself).

    Example::

        rec = Recording("run_0007.h5")
        frames, t = rec.read("video", 1.00, 1.50)    # frames with 1.00 <= t < 1.50
    """

    def __init__(self, path: str | os.PathLike, check: bool = True) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InvalidInput(f"{self.path}: is a folder, not a recording file (.h5)")
        if not self.path.is_file():
            raise MissingInput(f"{self.path}: no such recording file")
        self._h5: h5py.File | None = None
        self._pid: int | None = None
        self._timestamps: dict[str, np.ndarray] = {}
        self._infos: dict[str, StreamInfo] | None = None
        self._meta: dict | None = None
        if check:
            problems = structural_problems(self.h5)
            if problems:
                self.close()
                more = f" (and {len(problems) - 1} more; `weldfusion inspect` lists them)" if len(problems) > 1 else ""
                raise InvalidInput(f"{self.path}: {problems[0]}{more}")

    # -- file handle (lazy, per process) ---------------------------------------------------------
    @property
    def h5(self) -> h5py.File:
        if self._h5 is None or self._pid != os.getpid():
            try:
                self._h5 = h5py.File(self.path, "r")
            except OSError as err:
                raise UnreadableInput(f"{self.path}: not a readable HDF5 file ({err})") from None
            self._pid = os.getpid()
        return self._h5

    def close(self) -> None:
        if self._h5 is not None and self._pid == os.getpid():
            self._h5.close()
        self._h5 = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_h5"] = None
        state["_pid"] = None
        return state

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- metadata ----------------------------------------------------------------------------
    @property
    def meta(self) -> dict:
        """Root attributes (recording_id, material_pair, process, …) as plain Python values."""
        if self._meta is None:
            self._meta = {k: _decode(v) for k, v in self.h5.attrs.items()}
        return self._meta

    @property
    def streams(self) -> dict[str, StreamInfo]:
        """Present streams by modality name."""
        if self._infos is None:
            infos = {}
            for name, group in self.h5.get("streams", {}).items():
                infos[name] = self._stream_info(name, group)
            self._infos = infos
        return self._infos

    def _stream_info(self, name: str, group: h5py.Group) -> StreamInfo:
        data = group["data"]
        attrs = {k: _decode(v) for k, v in group.attrs.items()}
        rate = float(attrs["rate"]) if "rate" in attrs else None
        regular = "timestamps" not in group
        n = data.shape[0]
        if regular:
            st = float(attrs["starting_time"])
            t_start, t_end = st, st + n / rate
        else:
            st = None
            ts = self.timestamps(name)
            period = (1.0 / rate) if rate else (float(np.median(np.diff(ts))) if n > 1 else 0.0)
            t_start, t_end = (float(ts[0]), float(ts[-1]) + period) if n else (0.0, 0.0)
        gaps = group["gaps"][()] if "gaps" in group else np.zeros((0, 2))
        channels = attrs.get("channel_names", [])
        return StreamInfo(
            name=name,
            shape=tuple(data.shape),
            dtype=data.dtype,
            units=str(attrs.get("units", "")),
            channel_names=tuple(channels) if isinstance(channels, list) else (channels,),
            rate=rate,
            starting_time=st,
            regular=regular,
            t_start=t_start,
            t_end=t_end,
            gaps=np.asarray(gaps, dtype=np.float64).reshape(-1, 2),
            sensor=str(attrs.get("sensor", "")),
            attrs=attrs,
        )

    @property
    def span(self) -> tuple[float, float]:
        """(earliest stream start, latest stream end) in seconds; (0, 0) for no streams."""
        if not self.streams:
            return (0.0, 0.0)
        return (min(s.t_start for s in self.streams.values()), max(s.t_end for s in self.streams.values()))

    # -- labels ------------------------------------------------------------------------------
    def labels(self, table: str) -> list[LabelInterval]:
        """Rows of ``/labels/<table>`` (``phases`` or ``defects``); [] if absent."""
        group = self.h5.get("labels")
        if group is None or table not in group:
            return []
        return array_to_labels(group[table][()])

    @property
    def phases(self) -> list[LabelInterval]:
        return self.labels("phases")

    @property
    def defects(self) -> list[LabelInterval]:
        return self.labels("defects")

    @property
    def label_names(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """(phase_names, defect_names) stored with the labels, or None."""
        group = self.h5.get("labels")
        if group is None or "phase_names" not in group.attrs:
            return None
        return tuple(_decode(group.attrs["phase_names"])), tuple(_decode(group.attrs["defect_names"]))

    # -- samples ---------------------------------------------------------------------------------
    def timestamps(self, name: str) -> np.ndarray:
        """Per-sample timestamps (N,) of an irregular stream (cached)."""
        if name not in self._timestamps:
            self._timestamps[name] = self.h5["streams"][name]["timestamps"][()]
        return self._timestamps[name]

    def index_range(self, name: str, t0: float, t1: float) -> tuple[int, int]:
        """Sample indices [i0, i1) of the samples with ``t0 <= t < t1`` (clipped to the stream)."""
        info = self.streams[name]
        if info.regular:
            i0 = math.ceil((t0 - info.starting_time) * info.rate - TIME_EPS)
            i1 = math.ceil((t1 - info.starting_time) * info.rate - TIME_EPS)
        else:
            ts = self.timestamps(name)
            i0 = int(np.searchsorted(ts, t0 - TIME_EPS, side="left"))
            i1 = int(np.searchsorted(ts, t1 - TIME_EPS, side="left"))
        i0 = min(max(i0, 0), info.n)
        i1 = min(max(i1, i0), info.n)
        return i0, i1

    def times(self, name: str, i0: int, i1: int) -> np.ndarray:
        """Times (i1 - i0,) float64 of samples i0..i1-1."""
        info = self.streams[name]
        if info.regular:
            return regular_times(info.starting_time, info.rate, i0, i1)
        return self.timestamps(name)[i0:i1]

    def read_index(self, name: str, i0: int, i1: int) -> np.ndarray:
        """Samples i0..i1-1 of a stream, (i1 - i0, *sample_shape)."""
        return self.h5["streams"][name]["data"][i0:i1]

    def read(self, name: str, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Samples with ``t0 <= t < t1`` and their times: ``(data (n, ...), times (n,))``."""
        i0, i1 = self.index_range(name, t0, t1)
        return self.read_index(name, i0, i1), self.times(name, i0, i1)

    def gap_coverage(self, name: str, t0: float, t1: float) -> float:
        """Share of [t0, t1) that is inside a gap or outside the stream's span (0 = all valid)."""
        info = self.streams[name]
        return invalid_share(t0, t1, info.t_start, info.t_end, info.gaps)
