"""Reader of laser-monitor exports: CSV (a time column or a ``rate``, columns mapped to the four
canonical channels in the manifest), through the process-data CSV reader of ``sensors/electrical``
(one implementation of chunked CSV reading, time parsing and the bad-input contract)."""

from __future__ import annotations

from weldfusion.sensors.electrical.io import ChannelSet, open_channel_csv
from weldfusion.sensors.laser_monitor import CHANNEL_UNITS, CHANNELS
from weldfusion.sensors.raw_source import RawSource

LASER_MONITOR = ChannelSet("laser_monitor", CHANNELS, CHANNEL_UNITS)


def open_source(manifest, name: str = "laser_monitor") -> RawSource:
    """The manifest's laser-monitor stream as a :class:`RawSource` (k, 4) float32 with its own-clock times."""
    return open_channel_csv(manifest, name, LASER_MONITOR, "a laser-monitor stream")
