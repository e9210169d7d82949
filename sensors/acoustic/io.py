"""Readers for microphone / acoustic-emission files: WAV and FLAC through ``soundfile``.

Any sample rate (MHz acoustic emission included; FLAC itself stops at 655 kHz), integer or float
samples, any number of channels. The file is read in blocks of at most
:data:`~weldfusion.sensors.raw_source.BLOCK_BYTES`; blocks come out as (k,) float32 for one
channel or (k, C) for several.

Values: ``soundfile`` reads integer PCM as full-scale units (-1..1). The stored value is
``value * scale + offset`` (stream-level ``scale``/``offset``, or per channel in ``channels``).
Integer files without a ``scale`` (e.g. Pa per full scale) or ``units`` are stored as full-scale
values with units ``FS`` (an uncalibrated microphone), so they are never silently called Pa.
Float files are taken as Pa unless ``units`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.raw_source import IngestError, RawSource, block_length, resolve_timebase
from weldfusion.sensors.stream_spec import ChannelSpec
from weldfusion.sensors.xdf_source import check_xdf_keys, open_xdf_stream, xdf_raw_source

UNITS = "Pa"
FULL_SCALE_UNITS = "FS"  # uncalibrated integer PCM: fraction of full scale
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE", "VORBIS", "OPUS", "MPEG_LAYER_III")


def check_wav_sizes(path: Path) -> None:
    """Refuse a WAV whose ``data`` chunk declares more bytes than the file holds (truncated)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # RF64 / W64 keep their sizes elsewhere; libsndfile has checked them
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, length = fh.read(4), int.from_bytes(fh.read(4), "little")
            if chunk_id == b"data":
                have = size - pos - 8
                if length > have:
                    raise IngestError(f"{path}: truncated WAV: the header declares {length} bytes of samples, "
                                      f"the file holds {have}")
                return
            pos += 8 + length + (length & 1)


def _open(path: Path) -> sf.SoundFile:
    if not path.is_file():
        raise MissingInput(f"{path}: no such audio file")
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        detail = str(err).split(": ", 1)[-1].replace(f"'{path}'", "").strip()
        raise IngestError(f"{path}: unreadable audio file (broken or unsupported header: {detail})") from None


def open_audio(
    path: Path,
    *,
    channels: dict[str, ChannelSpec] | None = None,
    scale: float | None = None,
    offset: float | None = None,
    units: str | None = None,
) -> tuple[RawSource, float]:
    """A WAV/FLAC file as a :class:`RawSource` (times filled in by the caller) and its native rate.

    Args:
        channels: stored name -> :class:`ChannelSpec` whose ``column`` is the file's channel index
            (0-based). Default: all channels, named ``mic`` (mono) or ``ch0``, ``ch1``, ...
        scale / offset: applied to every channel when ``channels`` gives none of its own.
    """
    with _open(path) as f:
        rate, n, n_file, subtype = float(f.samplerate), int(f.frames), int(f.channels), f.subtype
    if path.suffix.lower() == ".wav":
        check_wav_sizes(path)
    if channels:
        if scale is not None or offset is not None:
            raise IngestError(f"{path}: give scale/offset either for the stream or per channel, not both")
        specs = dict(channels)
        for ch, spec in specs.items():
            if spec.value is not None:
                raise IngestError(f"{path}: channel {ch!r}: a constant 'value' makes no sense for sound")
            if isinstance(spec.column, bool) or not isinstance(spec.column, int):
                raise IngestError(f"{path}: channel {ch!r}: audio channels are chosen by index (0..{n_file - 1}), "
                                  f"got {spec.column!r}")
            if not 0 <= spec.column < n_file:
                raise IngestError(f"{path}: channel {ch!r}: index {spec.column} out of range (file has {n_file})")
    else:
        names = ["mic"] if n_file == 1 else [f"ch{i}" for i in range(n_file)]
        specs = {nm: ChannelSpec(column=i, scale=1.0 if scale is None else scale, offset=offset or 0.0)
                 for i, nm in enumerate(names)}
    integer = subtype not in _FLOAT_SUBTYPES
    scaled = any(s.scale != 1.0 or s.offset != 0.0 for s in specs.values()) or scale is not None
    if integer and not scaled and units is None:
        units = FULL_SCALE_UNITS  # uncalibrated: keep full-scale numbers, labelled as such
    index = np.array([s.column for s in specs.values()])
    gains = np.array([s.scale for s in specs.values()], dtype=np.float64)
    shifts = np.array([s.offset for s in specs.values()], dtype=np.float64)
    mono = len(specs) == 1
    sample_shape = () if mono else (len(specs),)
    k = block_length((n_file,), 8)

    def blocks() -> Iterator[np.ndarray]:
        with _open(path) as f:
            done = 0
            while True:
                raw = f.read(k, dtype="float64", always_2d=True)  # (k, C_file)
                if not len(raw):
                    break
                out = (raw[:, index] * gains + shifts).astype(np.float32)  # (k, C)
                bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
                if len(bad):
                    raise IngestError(f"{path}: NaN/inf at sample {done + bad[0]}")
                done += len(raw)
                yield out[:, 0] if mono else out
            if done < n:
                raise IngestError(f"{path}: truncated audio: {done} of {n} samples readable")

    source = RawSource(
        path=path, modality="acoustic", sample_shape=sample_shape, dtype=np.dtype(np.float32),
        units=units or UNITS, rate=rate, n=n, channel_names=tuple(specs),
        channel_units=tuple(s.units or units or UNITS for s in specs.values()), make_blocks=blocks,
    )
    return source, rate


def open_xdf_audio(manifest, name: str, mono_name: str | None, units: str | None) -> RawSource:
    """A sound stream of an XDF file (an LSL audio outlet: one channel per microphone). Channels
    by label or index (``channels``), ``scale``/``offset`` as for WAV; uncalibrated values are
    kept as fractions of full scale (``FS``) unless ``units`` is given."""
    spec = manifest.streams[name]
    path, xs, where = open_xdf_stream(manifest, name)
    if spec.channels:
        if spec.scale is not None or spec.offset is not None:
            raise IngestError(f"{where}: give scale/offset either for the stream or per channel, not both")
        specs = {ch: c if isinstance(c, ChannelSpec) else ChannelSpec(column=c) for ch, c in spec.channels.items()}
    else:
        first = [mono_name] if mono_name else (["mic"] if xs.values.shape[1] == 1 else list(xs.labels))
        specs = {nm: ChannelSpec(column=i, scale=1.0 if spec.scale is None else spec.scale, offset=spec.offset or 0.0)
                 for i, nm in enumerate(first)}
    columns = []
    for ch, c in specs.items():
        col = xs.labels.index(c.column) if isinstance(c.column, str) and c.column in xs.labels else c.column
        if c.value is not None or isinstance(col, bool) or not isinstance(col, int) or not 0 <= col < len(xs.labels):
            raise IngestError(f"{path}: stream {xs.name!r} has no channel {c.column!r} for {ch!r} "
                              f"(channels: {', '.join(xs.labels)}; {where}.channels)")
        columns.append(col)
    gains = np.array([c.scale for c in specs.values()])
    samples = (xs.values[:, columns] * gains + np.array([c.offset for c in specs.values()])).astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(samples).all(axis=1))
    if len(bad):
        raise IngestError(f"{path}: NaN/inf in stream {xs.name!r} at sample {bad[0]}")
    scaled = spec.scale is not None or any(c.scale != 1.0 or c.offset != 0.0 for c in specs.values())
    unit = spec.units or units or (UNITS if scaled else FULL_SCALE_UNITS)
    return xdf_raw_source(path, xs, samples[:, 0] if len(specs) == 1 else samples, name, unit, spec.start_time_s,
                          channel_names=tuple(specs), channel_units=tuple(c.units or unit for c in specs.values()))


def open_audio_stream(manifest, name: str, mono_name: str | None = None, units: str | None = None) -> RawSource:
    """The manifest's audio stream ``name`` as a :class:`RawSource` with its own-clock times.

    ``mono_name``: the channel name of column 0 when the manifest names no channels (the file's
    other columns are then left out); ``units``: the units when the manifest gives none.
    """
    spec = manifest.streams[name]
    fmt = manifest.stream_format(name)
    check_xdf_keys(spec, fmt, f"{manifest.path}: streams.{name}")
    if fmt == "xdf":
        source = open_xdf_audio(manifest, name, mono_name, units)
        source.sensor = spec.sensor
        return source
    files = manifest.stream_files(name)
    if len(files) != 1:
        raise IngestError(f"{manifest.path}: streams.{name}.path: an audio stream is one file, "
                          f"{len(files)} match {spec.path!r}")
    channels, scale, offset = spec.channels, spec.scale, spec.offset
    if not channels and mono_name is not None:
        channels = {mono_name: ChannelSpec(column=0, scale=1.0 if scale is None else scale, offset=offset or 0.0)}
        scale = offset = None
    source, native = open_audio(files[0], channels=channels, scale=scale, offset=offset, units=spec.units or units)
    source.modality = name
    start, rate, timestamps = resolve_timebase(manifest, name, files, source.n, native)
    source.start, source.rate, source.timestamps = start, rate, timestamps
    source.sensor = spec.sensor
    return source


def open_source(manifest, name: str = "acoustic") -> RawSource:
    """The manifest's acoustic stream as a :class:`RawSource` with its own-clock times."""
    return open_audio_stream(manifest, name)
