"""Readers for radiometric IR camera files -> (k, H, W) float32 degC blocks.

Formats:
- 16-bit (or 8-bit) TIFF/PNG sequences (a folder or a glob): raw counts, converted with the
  manifest's ``scale``/``offset`` (``degC = counts * scale + offset``; both are required for
  integer counts, so counts are never silently taken for temperatures). Float TIFFs are degC.
- ``.npy`` stacks (N, H, W), memory-mapped (``np.load(mmap_mode="r", allow_pickle=False)``).
- ``.npz`` archives: the member ``key`` (default: the only one) is streamed from the zip without
  loading it whole.
- per-frame CSV matrices (a folder or glob of ``H`` lines x ``W`` values each).
- FLIR radiometric JPEGs (format ``flir``; :mod:`.flir`, read with flyr): temperatures from the
  file's calibration, ``emissivity`` / ``reflected_temp_c`` from the manifest override the file's.
- an IR camera stream of an XDF file (format ``xdf``: ``xdf_stream``, ``frame_shape``; degC, or
  counts with ``scale``/``offset``).

Times: the manifest's ``rate`` (+ ``start_time_s``) or a per-frame ``timestamps`` CSV.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.raw_source import (
    IngestError,
    RawSource,
    block_length,
    first_line,
    resolve_timebase,
    scale_offset,
)
from weldfusion.sensors.thermal.flir import open_flir
from weldfusion.sensors.video.io import image_sequence_blocks, read_image
from weldfusion.sensors.xdf_source import check_xdf_keys, open_xdf_stream, xdf_frames, xdf_raw_source

UNITS = "degC"


def _need_scale(path: Path, dtype: np.dtype, scale: float | None, offset: float | None) -> None:
    if dtype.kind in "ui" and (scale is None or offset is None):
        raise IngestError(f"{path}: frames are integer counts ({dtype}); give 'scale' and 'offset' in the "
                          "manifest (degC = counts * scale + offset)")


def _frame_converter(scale: float | None, offset: float | None) -> Callable[[np.ndarray, Path], np.ndarray]:
    def convert(image: np.ndarray, path: Path) -> np.ndarray:
        if image.ndim != 2:
            raise IngestError(f"{path}: thermal frames must be single-channel, got shape {image.shape}")
        frame = scale_offset(image, scale, offset)
        if not np.all(np.isfinite(frame)):
            raise IngestError(f"{path}: frame holds NaN/inf")
        return frame

    return convert


def open_images(files: list[Path], scale: float | None, offset: float | None) -> RawSource:
    """A TIFF/PNG sequence of counts (or float degC) as a :class:`RawSource` of float32 degC."""
    first = read_image(files[0])
    if first.ndim != 2:
        raise IngestError(f"{files[0]}: thermal frames must be single-channel, got shape {first.shape}")
    _need_scale(files[0], first.dtype, scale, offset)
    return RawSource(
        path=files[0], modality="thermal", sample_shape=first.shape, dtype=np.dtype(np.float32), units=UNITS,
        rate=None, n=len(files),
        make_blocks=image_sequence_blocks(files, _frame_converter(scale, offset), first.shape, np.float32),
    )


def _csv_matrix(path: Path, delimiter: str | None) -> np.ndarray:
    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    try:
        with path.open() as fh:
            line = fh.readline()
        if delimiter is None:
            delimiter = next((d for d in (";", "\t", ",") if d in line), None)
        matrix = np.loadtxt(path, delimiter=delimiter, dtype=np.float64, ndmin=2)
    except (ValueError, UnicodeDecodeError) as err:
        raise IngestError(f"{path}: not a numeric CSV matrix ({first_line(err)})") from None
    if not np.all(np.isfinite(matrix)):
        r, c = np.argwhere(~np.isfinite(matrix))[0]
        raise IngestError(f"{path}: NaN/inf at line {r + 1}, column {c + 1}")
    return matrix


def open_csv_frames(files: list[Path], scale: float | None, offset: float | None, delimiter: str | None
                    ) -> RawSource:
    """One CSV matrix (H lines x W values) per frame as a :class:`RawSource` of float32 degC."""
    first = _csv_matrix(files[0], delimiter)
    shape = first.shape
    k = block_length(shape, 4)

    def blocks() -> Iterator[np.ndarray]:
        for i0 in range(0, len(files), k):
            chunk = files[i0 : i0 + k]
            out = np.empty((len(chunk), *shape), dtype=np.float32)
            for j, path in enumerate(chunk):
                m = _csv_matrix(path, delimiter)
                if m.shape != shape:
                    raise IngestError(f"{path}: matrix shape {m.shape} differs from the first frame's {shape}")
                out[j] = scale_offset(m, scale, offset)
            yield out

    return RawSource(path=files[0], modality="thermal", sample_shape=shape, dtype=np.dtype(np.float32),
                     units=UNITS, rate=None, n=len(files), make_blocks=blocks)


def _check_stack(path: Path, shape: tuple[int, ...], dtype: np.dtype, scale, offset) -> None:
    if len(shape) != 3:
        raise IngestError(f"{path}: a thermal stack must be (N, H, W), got shape {shape}")
    if dtype.kind not in "uif":
        raise IngestError(f"{path}: a thermal stack must hold numbers, got dtype {dtype}")
    _need_scale(path, dtype, scale, offset)


def open_npy(path: Path, scale: float | None, offset: float | None) -> RawSource:
    """A ``.npy`` stack (N, H, W), memory-mapped and converted block by block."""
    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    try:
        stack = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise IngestError(f"{path}: not a readable .npy array ({first_line(err)})") from None
    _check_stack(path, stack.shape, stack.dtype, scale, offset)
    k = block_length(stack.shape[1:], 8)

    def blocks() -> Iterator[np.ndarray]:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        for i0 in range(0, arr.shape[0], k):
            yield _finite(scale_offset(np.asarray(arr[i0 : i0 + k]), scale, offset), path, i0)

    return RawSource(path=path, modality="thermal", sample_shape=stack.shape[1:], dtype=np.dtype(np.float32),
                     units=UNITS, rate=None, n=stack.shape[0], make_blocks=blocks)


def _finite(block: np.ndarray, path: Path, i0: int) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(block.reshape(len(block), -1)).all(axis=1))
    if len(bad):
        raise IngestError(f"{path}: NaN/inf in frame {i0 + bad[0]}")
    return block


def _npz_member(path: Path, key: str | None) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
    except (zipfile.BadZipFile, OSError) as err:
        raise IngestError(f"{path}: not a readable .npz archive ({err})") from None
    if key is None:
        if len(names) != 1:
            raise IngestError(f"{path}: holds {len(names)} arrays ({', '.join(names)}); give 'key' in the manifest")
        return names[0]
    if key not in names:
        raise IngestError(f"{path}: no array {key!r} (arrays: {', '.join(names)})")
    return key


def _npz_header(fh) -> tuple[tuple[int, ...], np.dtype, bool]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def open_npz(path: Path, key: str | None, scale: float | None, offset: float | None) -> RawSource:
    """One member of a ``.npz`` (N, H, W), streamed from the zip archive block by block."""
    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    member = _npz_member(path, key)
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member + ".npy") as fh:
            shape, fortran, dtype = _npz_header(fh)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise IngestError(f"{path}: array {member!r} is not readable ({first_line(err)})") from None
    if dtype.hasobject:
        raise IngestError(f"{path}: array {member!r} holds Python objects (not allowed)")
    if fortran:
        raise IngestError(f"{path}: array {member!r} is Fortran-ordered; save it C-ordered to stream it")
    _check_stack(path, shape, dtype, scale, offset)
    sample = shape[1:]
    k = block_length(sample, 8)
    frame_bytes = int(np.prod(sample)) * dtype.itemsize

    def blocks() -> Iterator[np.ndarray]:
        with zipfile.ZipFile(path) as zf, zf.open(member + ".npy") as fh:
            _npz_header(fh)
            for i0 in range(0, shape[0], k):
                m = min(k, shape[0] - i0)
                buf = fh.read(m * frame_bytes)
                if len(buf) != m * frame_bytes:
                    raise IngestError(f"{path}: array {member!r} is truncated at frame {i0 + len(buf) // frame_bytes}")
                raw = np.frombuffer(buf, dtype=dtype).reshape(m, *sample)
                yield _finite(scale_offset(raw, scale, offset), path, i0)

    return RawSource(path=path, modality="thermal", sample_shape=sample, dtype=np.dtype(np.float32),
                     units=UNITS, rate=None, n=shape[0], make_blocks=blocks)


def open_xdf_thermal(manifest, name: str) -> RawSource:
    """An IR camera stream of an XDF file (one frame per sample, ``frame_shape``) in degC:
    ``scale``/``offset`` applied when given (counts), else the values are taken as degC."""
    spec = manifest.streams[name]
    path, xs, where = open_xdf_stream(manifest, name)
    frames = scale_offset(xdf_frames(xs, spec.frame_shape, path, where), spec.scale, spec.offset)
    return xdf_raw_source(path, xs, frames, "thermal", UNITS, spec.start_time_s)


def open_source(manifest, name: str = "thermal") -> RawSource:
    """The manifest's thermal stream as a :class:`RawSource` (float32 degC) with its own-clock times."""
    spec = manifest.streams[name]
    fmt = manifest.stream_format(name)
    check_xdf_keys(spec, fmt, f"{manifest.path}: streams.{name}")
    if fmt == "xdf":
        source = open_xdf_thermal(manifest, name)
        source.sensor = spec.sensor
        return source
    files = manifest.stream_files(name)
    if spec.key is not None and fmt != "npz":
        raise IngestError(f"{manifest.path}: streams.{name}.key: only applies to .npz files")
    for key in ("emissivity", "reflected_temp_c"):
        if getattr(spec, key) is not None and fmt != "flir":
            raise IngestError(f"{manifest.path}: streams.{name}.{key}: only applies to FLIR files (format: flir)")
    if fmt in ("npy", "npz"):
        if len(files) != 1:
            raise IngestError(f"{manifest.path}: streams.{name}.path: a {fmt} stream is one file, "
                              f"{len(files)} match {spec.path!r}")
        source = (open_npy(files[0], spec.scale, spec.offset) if fmt == "npy"
                  else open_npz(files[0], spec.key, spec.scale, spec.offset))
    elif fmt == "csv":
        source = open_csv_frames(files, spec.scale, spec.offset, spec.delimiter)
    elif fmt == "flir":
        source = open_flir(files, spec.emissivity, spec.reflected_temp_c)
    else:
        source = open_images(files, spec.scale, spec.offset)
    start, rate, timestamps = resolve_timebase(manifest, name, files, source.n, None)
    source.start, source.rate, source.timestamps = start, rate, timestamps
    source.sensor = spec.sensor
    return source
