"""Streams of an XDF file recorded with LabRecorder (Lab Streaming Layer), read with ``pyxdf``.

:func:`xdf_stream` returns one stream's samples and time stamps with the recorded clock offsets
applied (``pyxdf.load_xdf(..., synchronize_clocks=True)``: each outlet's clock mapped onto the
recording computer's). All streams of one file share one clock: time 0 is the earliest first
time stamp of any stream in the file, so the video, sound and DAQ streams of one session line up
without offsets (``time_offset_s`` still shifts one if needed). A file is parsed once per process.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.raw_source import IngestError, first_line


@dataclass(frozen=True)
class XdfStream:
    """One stream: ``values`` (n, C) float64, ``times`` (n,) s from the file's first time stamp,
    channel ``labels`` (from the stream's description, else ``ch0``, ``ch1`` …), nominal ``rate`` (0 = irregular)."""

    name: str
    values: np.ndarray
    times: np.ndarray
    labels: tuple[str, ...]
    rate: float


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[list[dict], float]:
    import pyxdf  # lazy: pyxdf only for XDF files

    try:
        streams, _ = pyxdf.load_xdf(path, synchronize_clocks=True, dejitter_timestamps=False, verbose=False)
    except Exception as err:  # noqa: BLE001 - pyxdf raises many types for a broken file
        raise IngestError(f"{path}: not a readable XDF file ({first_line(err)})") from None
    firsts = [float(s["time_stamps"][0]) for s in streams if len(s["time_stamps"])]
    return streams, (min(firsts) if firsts else 0.0)


def _labels(info: dict, n: int) -> tuple[str, ...]:
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
        labels = tuple(str(c["label"][0]) for c in channels)
        if len(labels) == n:
            return labels
    except (KeyError, IndexError, TypeError):
        pass
    return tuple(f"ch{i}" for i in range(n))


def xdf_stream(path: str | os.PathLike, name: str | None, where: str) -> XdfStream:
    """The stream called ``name`` (``None``: the file's only stream) of the XDF file ``path``."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    streams, origin = _load(str(path), path.stat().st_mtime)
    names = [str(s["info"]["name"][0]) for s in streams]
    if name is None:
        if len(streams) != 1:
            raise IngestError(f"{path}: holds streams {', '.join(names) or '(none)'}; give 'xdf_stream' ({where})")
        chosen = streams[0]
    elif name not in names:
        raise IngestError(f"{path}: no stream {name!r} (streams: {', '.join(names)}; {where}.xdf_stream)")
    else:
        chosen = streams[names.index(name)]
    values = np.asarray(chosen["time_series"])
    if values.dtype.kind not in "iuf":
        raise IngestError(f"{path}: stream {name!r} holds {values.dtype} values, not numbers")
    values = values.astype(np.float64).reshape(len(values), -1)
    times = np.asarray(chosen["time_stamps"], dtype=np.float64) - origin
    if not len(times):
        raise IngestError(f"{path}: stream {name!r} holds no samples")
    rate = float(chosen["info"]["nominal_srate"][0])
    return XdfStream(str(chosen["info"]["name"][0]), values, times, _labels(chosen["info"], values.shape[1]), rate)
