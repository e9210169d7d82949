"""Readers of acoustic-emission files: WAV/FLAC (MHz sample rates) through the microphone's reader.

One implementation of audio-file reading (:func:`weldfusion.sensors.acoustic.io.open_audio`); what
differs is the naming — a mono file's channel is ``ae`` — and the units: float files are taken
as volts unless ``units`` says otherwise.
"""

from __future__ import annotations

from weldfusion.sensors.acoustic.io import open_audio
from weldfusion.sensors.raw_source import IngestError, RawSource, resolve_timebase
from weldfusion.sensors.stream_spec import ChannelSpec

UNITS = "V"


def open_source(manifest, name: str = "emission") -> RawSource:
    """The manifest's AE stream as a :class:`RawSource` with its own-clock times."""
    spec = manifest.streams[name]
    manifest.stream_format(name)
    files = manifest.stream_files(name)
    if len(files) != 1:
        raise IngestError(f"{manifest.path}: streams.{name}.path: an AE stream is one file, "
                          f"{len(files)} match {spec.path!r}")
    channels = spec.channels
    scale, offset = spec.scale, spec.offset
    if not channels:  # one channel named ``ae`` (column 0) unless the manifest names them
        channels = {"ae": ChannelSpec(column=0, scale=1.0 if scale is None else scale, offset=offset or 0.0)}
        scale = offset = None
    source, native = open_audio(files[0], channels=channels, scale=scale, offset=offset, units=spec.units or UNITS)
    source.modality = name
    start, rate, timestamps = resolve_timebase(manifest, name, files, source.n, native)
    source.start, source.rate, source.timestamps = start, rate, timestamps
    source.sensor = spec.sensor
    return source
