"""Readers of acoustic-emission files: WAV/FLAC (MHz sample rates) through the microphone's reader.

One implementation of audio-file reading (:func:`weldfusion.sensors.acoustic.io.open_audio_stream`); what
differs is the naming — a mono file's channel is ``ae`` — and the units: float files are taken
as volts unless ``units`` says otherwise.
"""

from __future__ import annotations

from weldfusion.sensors.acoustic.io import open_audio_stream
from weldfusion.sensors.raw_source import RawSource

UNITS = "V"


def open_source(manifest, name: str = "emission") -> RawSource:
    """The manifest's AE stream as a :class:`RawSource` with its own-clock times."""
    return open_audio_stream(manifest, name, mono_name="ae", units=UNITS)
