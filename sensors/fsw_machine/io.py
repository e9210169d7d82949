"""Reader of FSW machine exports: CSV (a time column or a ``rate``, columns mapped to the five
canonical channels in the manifest), through the process-data CSV reader of ``sensors/electrical``
(one implementation of chunked CSV reading, time parsing and the bad-input contract)."""

from __future__ import annotations

from weldfusion.sensors.electrical.io import ChannelSet, open_channel_csv
from weldfusion.sensors.fsw_machine import CHANNEL_UNITS, CHANNELS
from weldfusion.sensors.raw_source import RawSource

FSW_MACHINE = ChannelSet("fsw_machine", CHANNELS, CHANNEL_UNITS)


def open_source(manifest, name: str = "fsw_machine") -> RawSource:
    """The manifest's FSW machine stream as a :class:`RawSource` (k, 5) float32 with its own-clock times."""
    return open_channel_csv(manifest, name, FSW_MACHINE, "an FSW machine stream")
