"""Streams of an XDF file recorded with LabRecorder (Lab Streaming Layer), read with ``pyxdf``.

:func:`xdf_stream` returns one stream's samples and time stamps with the recorded clock offsets
applied (``pyxdf.load_xdf(..., synchronize_clocks=True)``: each outlet's clock mapped onto the
recording computer's). All streams of one file share one clock: time 0 is the earliest first
time stamp of any stream in the file, so the video, sound and DAQ streams of one session line up
without offsets (``time_offset_s`` still shifts one if needed). A file is parsed once per process.

Frame streams (video, thermal): an LSL camera outlet sends one frame per sample as ``H*W``
channels, row-major; the manifest's ``frame_shape: [H, W]`` says how to fold them back
(:func:`xdf_frames`). Sound streams: one channel per microphone. :func:`xdf_raw_source` wraps the
in-memory samples of any of them as a :class:`RawSource` on the file's clock.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.raw_source import (
    IngestError,
    RawSource,
    block_length,
    check_times,
    first_line,
    regular_timebase,
    snap_rate,
)


@dataclass(frozen=True)
class XdfStream:
    """One stream: ``values`` (n, C) float64, ``times`` (n,) s from the file's first time stamp,
    channel ``labels`` (from the stream's description, else ``ch0``, ``ch1`` …), nominal ``rate`` (0 = irregular)."""

    name: str
    values: np.ndarray
    times: np.ndarray
    labels: tuple[str, ...]
    rate: float


class _Damage(logging.Handler):
    """Keeps the first error pyxdf logs while it reads (it reports a damaged or cut-short file so,
    then scans forward to the next chunk it can read)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.first is None:
            self.first = (record.getMessage().strip().splitlines() or [record.levelname])[0][:160]


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[list[dict], float]:
    import pyxdf  # lazy: pyxdf only for XDF files

    damage = _Damage()
    log = logging.getLogger("pyxdf")
    log.addHandler(damage)
    try:
        streams, _ = pyxdf.load_xdf(path, synchronize_clocks=True, dejitter_timestamps=False, verbose=False)
    except Exception as err:  # noqa: BLE001 - pyxdf raises many types for a broken file
        raise IngestError(f"{path}: not a readable XDF file ({first_line(err)})") from None
    finally:
        log.removeHandler(damage)
    if damage.first is not None:  # pyxdf skips a damaged stretch and goes on: samples would be missing
        raise IngestError(f"{path}: damaged or cut-short XDF file, samples would be lost ({damage.first})")
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


def xdf_frames(xs: XdfStream, frame_shape: list[int] | tuple[int, ...] | None, path: Path, where: str) -> np.ndarray:
    """The samples of a camera stream folded into (N, H, W) frames (float64, as stored)."""
    if frame_shape is None:
        raise IngestError(f"{path}: stream {xs.name!r} carries frames as {xs.values.shape[1]} channels; give "
                          f"'frame_shape: [H, W]' ({where})")
    h, w = (int(v) for v in frame_shape)
    if h * w != xs.values.shape[1]:
        raise IngestError(f"{path}: stream {xs.name!r} has {xs.values.shape[1]} channels per sample, "
                          f"frame_shape {h}x{w} needs {h * w} ({where}.frame_shape)")
    bad = np.flatnonzero(~np.isfinite(xs.values).all(axis=1))
    if len(bad):
        raise IngestError(f"{path}: NaN/inf in stream {xs.name!r} at frame {bad[0]}")
    return xs.values.reshape(len(xs.values), h, w)


def xdf_raw_source(path: Path, xs: XdfStream, samples: np.ndarray, modality: str, units: str, start: float,
                   **fields) -> RawSource:
    """``samples`` (N, *sample_shape) of stream ``xs`` as a :class:`RawSource`: a regular stream
    (``start`` + the first stamp, the nominal or measured rate) when its time stamps are regular
    within the tolerance, else explicit time stamps. ``fields``: further RawSource attributes."""
    times = check_times(xs.times, f"{path}: time stamps of stream {xs.name!r}")
    k = block_length(samples.shape[1:], samples.dtype.itemsize)
    source = RawSource(path=path, modality=modality, sample_shape=tuple(samples.shape[1:]), dtype=samples.dtype,
                       units=units, rate=xs.rate or None, n=len(samples),
                       make_blocks=lambda: (samples[i: i + k] for i in range(0, len(samples), k)), **fields)
    regular = regular_timebase(times, xs.rate or None)
    if regular is not None:
        source.start, source.rate = start + regular[0], regular[1]
    else:
        source.timestamps = start + times
        if source.rate is None and len(times) > 1:
            source.rate = snap_rate((len(times) - 1) / (times[-1] - times[0]))
    return source


def check_xdf_keys(spec, fmt: str, where: str) -> None:
    """``xdf_stream`` and ``frame_shape`` only on XDF streams; ``frame_shape`` is two positive ints."""
    if fmt != "xdf":
        for key in ("xdf_stream", "frame_shape"):
            if getattr(spec, key, None) is not None:
                raise IngestError(f"{where}.{key}: only applies to XDF files")
    shape = getattr(spec, "frame_shape", None)
    if shape is not None and (len(shape) != 2 or min(shape) < 1):
        raise IngestError(f"{where}.frame_shape: give [H, W] with two positive integers, got {list(shape)}")


def open_xdf_stream(manifest, name: str) -> tuple[Path, XdfStream, str]:
    """The one XDF file of the manifest's stream ``name`` and its chosen stream."""
    spec = manifest.streams[name]
    files = manifest.stream_files(name)
    where = f"{manifest.path}: streams.{name}"
    if len(files) != 1:
        raise IngestError(f"{where}.path: an XDF stream is one file, {len(files)} match {spec.path!r}")
    return files[0], xdf_stream(files[0], spec.xdf_stream, where), where
