"""Readers for high-speed camera files: containers (mp4/avi/mkv/mov) and image sequences.

Containers are decoded with ``cv2.VideoCapture`` a block of frames at a time, in a thread of
their own that reads ahead while the caller compresses and writes (:mod:`~weldfusion.sensors.prefetch`); image folders or
globs (PNG/JPEG/TIFF, 8- or 16-bit) are read with ``cv2.imread(..., IMREAD_UNCHANGED)`` one file
at a time. Frames come out as (k, H, W) grey (``uint8``, or ``uint16`` for 16-bit images) or,
with ``color: true``, (k, H, W, 3) RGB. Frame times come from the container's rate (or the
manifest's ``rate``, which wins: high-speed cameras often store a playback rate), or from a
per-frame timestamps CSV.

Photron high-speed camera files (``.cih``/``.cihx`` header + ``.mraw`` frames, format ``mraw``)
are read with ``pyMRAW`` (monochrome, 8-bit, 12-bit packed and 16-bit; frames stay 8- or 16-bit
integers, the header's record rate — not a playback rate — gives the times). Phantom ``.cine``
files (format ``cine``) are read with ``pycine`` (:mod:`.cine`). Camera streams recorded in XDF
(format ``xdf``: ``xdf_stream``, ``frame_shape``) are read with pyxdf (``sensors/xdf_source.py``).

A container that cannot be opened, holds no decodable frame, or decodes fewer frames than it
declares (a truncated file; Matroska, whose count is estimated, may fall one frame short) is an
:class:`~weldfusion.sensors.raw_source.IngestError`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from weldfusion.sensors.prefetch import prefetched
from weldfusion.sensors.raw_source import IngestError, RawSource, block_length, first_line, resolve_timebase
from weldfusion.sensors.video.cine import open_cine
from weldfusion.sensors.xdf_source import check_xdf_keys, open_xdf_stream, xdf_frames, xdf_raw_source

# FFmpeg prints its own diagnostics ("moov atom not found") on stderr; the reader reports the
# problem itself in one line, so keep FFmpeg quiet unless the user asked otherwise.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
import cv2  # noqa: E402
from weldfusion.recipes.errors import MissingInput

CONTAINER_FORMATS = ("mp4", "avi", "mkv", "mov")
IMAGE_FORMATS = ("png", "jpeg", "tiff")
_UNITS = {(np.dtype(np.uint8), False): "gray8", (np.dtype(np.uint16), False): "gray16",
          (np.dtype(np.uint8), True): "rgb8", (np.dtype(np.uint16), True): "rgb16"}


def read_image(path: Path) -> np.ndarray:
    """One image file as stored: (H, W) or (H, W, 3) BGR, uint8/uint16/float32. Unreadable -> error."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        if not path.is_file():
            raise MissingInput(f"{path}: no such image file")
        raise IngestError(f"{path}: unreadable image (damaged or not a PNG/JPEG/TIFF file)")
    if image.ndim == 3 and image.shape[2] == 4:  # drop alpha
        image = image[:, :, :3]
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise IngestError(f"{path}: unsupported image layout {image.shape}")
    return image


def _to_frame(image: np.ndarray, color: bool, path: Path) -> np.ndarray:
    """BGR/grey image -> (H, W) grey or (H, W, 3) RGB."""
    if color:
        if image.ndim != 3:
            raise IngestError(f"{path}: color: true but the frames are grey")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def image_sequence_blocks(
    files: list[Path], convert: Callable[[np.ndarray, Path], np.ndarray], sample_shape: tuple[int, ...],
    dtype: np.dtype, read: Callable[[Path], np.ndarray] = read_image,
) -> Callable[[], Iterator[np.ndarray]]:
    """Block factory over an image sequence: every file read (``read``: one file as an array),
    converted and checked for shape."""
    k = block_length(sample_shape, np.dtype(dtype).itemsize)

    def blocks() -> Iterator[np.ndarray]:
        for i0 in range(0, len(files), k):
            out = np.empty((min(k, len(files) - i0), *sample_shape), dtype=dtype)
            for j, path in enumerate(files[i0 : i0 + k]):
                frame = convert(read(path), path)
                if frame.shape != sample_shape:
                    raise IngestError(f"{path}: frame shape {frame.shape} differs from the first frame's "
                                      f"{sample_shape} ({files[0].name})")
                out[j] = frame
            yield out

    return blocks


def _open_capture(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise MissingInput(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise IngestError(f"{path}: unreadable video (cannot be opened: damaged, truncated or unsupported codec)")
    return cap


def probe_video(path: Path) -> tuple[int | None, float | None, np.ndarray]:
    """(declared frame count or None, container rate or None, first frame as decoded BGR/grey)."""
    cap = _open_capture(path)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok or frame is None:
        raise IngestError(f"{path}: unreadable video (no decodable frame)")
    return (n if n > 0 else None), (fps if np.isfinite(fps) and fps > 0 else None), frame


def video_blocks(path: Path, color: bool, sample_shape: tuple[int, ...], declared: int | None
                 ) -> Callable[[], Iterator[np.ndarray]]:
    """Block factory decoding ``path`` ``block_length`` frames at a time; checks for truncation."""
    k = block_length(sample_shape, 1)

    def blocks() -> Iterator[np.ndarray]:
        cap = _open_capture(path)
        total = 0
        try:
            while True:
                out = np.empty((k, *sample_shape), dtype=np.uint8)
                j = 0
                while j < k:
                    ok, frame = cap.read()
                    if not ok:
                        break
                    frame = _to_frame(frame, color, path)
                    if frame.shape != sample_shape:
                        raise IngestError(f"{path}: frame {total + j} has shape {frame.shape}, expected {sample_shape}")
                    out[j] = frame
                    j += 1
                total += j
                if j:
                    yield out[:j]
                if j < k:
                    break
        finally:
            cap.release()
        # Matroska has no frame index: OpenCV estimates the count from the duration (+-1 frame)
        slack = 1 if path.suffix.lower() in (".mkv", ".webm") else 0
        if declared is not None and total < declared - slack:
            raise IngestError(f"{path}: truncated video: only {total} of the {declared} frames it declares "
                              "could be decoded")

    return blocks


def open_video(path: Path, *, color: bool = False) -> tuple[RawSource, float | None]:
    """A container file as a :class:`RawSource` (times filled in by the caller) and its native rate."""
    declared, fps, first = probe_video(path)
    first = _to_frame(first, color, path)
    source = RawSource(
        path=path, modality="video", sample_shape=first.shape, dtype=np.dtype(np.uint8),
        units=_UNITS[(np.dtype(np.uint8), color)], rate=fps, n=declared,
        make_blocks=prefetched(video_blocks(path, color, first.shape, declared)),
    )
    return source, fps


def open_images(files: list[Path], *, color: bool = False) -> RawSource:
    """An image sequence as a :class:`RawSource` (frames in the order of ``files``)."""
    first = _to_frame(read_image(files[0]), color, files[0])
    if first.dtype not in (np.uint8, np.uint16):
        raise IngestError(f"{files[0]}: video frames must be 8- or 16-bit integers, got {first.dtype}")
    return RawSource(
        path=files[0], modality="video", sample_shape=first.shape, dtype=first.dtype,
        units=_UNITS[(first.dtype, color)], rate=None, n=len(files),
        make_blocks=image_sequence_blocks(files, lambda im, p: _to_frame(im, color, p), first.shape, first.dtype),
    )


def open_mraw(path: Path) -> tuple[RawSource, float | None]:
    """A Photron ``.cih``/``.cihx`` + ``.mraw`` recording (pyMRAW, memory-mapped: frames are read
    a block at a time) as a :class:`RawSource` and its record rate (frames/s)."""
    import pyMRAW  # lazy: pyMRAW (and numba, which it loads) only for Photron files

    if path.suffix.lower() not in (".cih", ".cihx"):
        raise IngestError(f"{path}: give the Photron header (.cih or .cihx) as the stream's path, not the .mraw")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyMRAW warns about bit depths it handles anyway
            frames, info = pyMRAW.load_video(str(path))
    except Exception as err:  # noqa: BLE001 - pyMRAW raises bare Exceptions for bad files
        raise IngestError(f"{path}: not a readable Photron recording ({first_line(err)})") from None
    if str(info.get("Color Type", "Mono")).lower() not in ("mono", "monochrome"):
        raise IngestError(f"{path}: colour MRAW ({info.get('Color Type')}) is not supported; record in mono")
    if frames.ndim != 3 or frames.dtype not in (np.uint8, np.uint16) or not len(frames):
        raise IngestError(f"{path}: MRAW frames must be (N, H, W) 8- or 16-bit, got {frames.shape} {frames.dtype}")
    rate = float(info.get("Record Rate(fps)") or 0.0) or None
    k = block_length(frames.shape[1:], frames.dtype.itemsize)

    def blocks() -> Iterator[np.ndarray]:
        for i in range(0, len(frames), k):
            yield np.ascontiguousarray(frames[i: i + k])

    source = RawSource(path=path, modality="video", sample_shape=tuple(frames.shape[1:]), dtype=frames.dtype,
                       units=_UNITS[(frames.dtype, False)], rate=rate, n=len(frames), make_blocks=blocks)
    return source, rate


def open_xdf_video(manifest, name: str) -> RawSource:
    """A camera stream of an XDF file (one frame per sample, ``frame_shape``) as grey ``uint8``
    frames when every value is a whole number in 0..255, ``uint16`` up to 65535."""
    spec = manifest.streams[name]
    path, xs, where = open_xdf_stream(manifest, name)
    frames = xdf_frames(xs, spec.frame_shape, path, where)
    if spec.color:
        raise IngestError(f"{where}.color: XDF frames are grey (one value per pixel)")
    whole = bool(np.all(frames == np.round(frames))) and frames.min() >= 0
    top = frames.max()
    if not whole or top > 65535:
        raise IngestError(f"{path}: stream {xs.name!r}: video pixels must be whole grey levels in 0..65535")
    dtype = np.dtype(np.uint8 if top <= 255 else np.uint16)
    return xdf_raw_source(path, xs, frames.astype(dtype), "video", _UNITS[(dtype, False)], spec.start_time_s)


def open_source(manifest, name: str = "video") -> RawSource:
    """The manifest's video stream as a :class:`RawSource` with its own-clock times."""
    spec = manifest.streams[name]
    fmt = manifest.stream_format(name)
    check_xdf_keys(spec, fmt, f"{manifest.path}: streams.{name}")
    if fmt == "xdf":
        source = open_xdf_video(manifest, name)
        source.sensor = spec.sensor
        return source
    files = manifest.stream_files(name)
    if fmt in CONTAINER_FORMATS:
        if len(files) != 1:
            raise IngestError(f"{manifest.path}: streams.{name}.path: a {fmt} stream is one file, "
                              f"{len(files)} match {spec.path!r}")
        source, native = open_video(files[0], color=spec.color)
    elif fmt in ("mraw", "cine"):
        if len(files) != 1 or spec.color:
            what = "an MRAW stream is one .cih/.cihx file" if fmt == "mraw" else "a CINE stream is one .cine file"
            raise IngestError(f"{manifest.path}: streams.{name}: {what}, in mono")
        source, native = open_mraw(files[0]) if fmt == "mraw" else open_cine(files[0])
    else:
        source, native = open_images(files, color=spec.color), None
    start, rate, timestamps = resolve_timebase(manifest, name, files, source.n, native)
    source.start, source.rate, source.timestamps = start, rate, timestamps
    source.sensor = spec.sensor
    return source
