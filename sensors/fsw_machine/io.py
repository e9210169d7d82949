"""Reader of FSW machine exports: CSV (a time column or a ``rate``, columns mapped to the five
canonical channels in the manifest), through the process-data CSV reader of ``sensors/electrical``
(one implementation of chunked CSV reading, time parsing and the bad-input contract)."""

from __future__ import annotations

from weldfusion.sensors.electrical.io import ChannelSet, open_csv
from weldfusion.sensors.fsw_machine import CHANNEL_UNITS, CHANNELS
from weldfusion.sensors.raw_source import IngestError, RawSource, TimeParser

FSW_MACHINE = ChannelSet("fsw_machine", CHANNELS, CHANNEL_UNITS)


def open_source(manifest, name: str = "fsw_machine") -> RawSource:
    """The manifest's FSW machine stream as a :class:`RawSource` (k, 5) float32 with its own-clock times."""
    spec = manifest.streams[name]
    manifest.stream_format(name)
    files = manifest.stream_files(name)
    where = f"{manifest.path}: streams.{name}"
    if len(files) != 1:
        raise IngestError(f"{where}.path: an FSW machine stream is one file, {len(files)} match {spec.path!r}")
    parser = TimeParser(f"{files[0]}: column {spec.time_column!r}", spec.time_unit, spec.time_format,
                        manifest.time_origin)
    source = open_csv(files[0], where=where, channels=spec.channels, time_column=spec.time_column, parser=parser,
                      rate=spec.rate, start=spec.start_time_s, delimiter=spec.delimiter, decimal=spec.decimal,
                      cs=FSW_MACHINE)
    source.sensor = spec.sensor
    return source
