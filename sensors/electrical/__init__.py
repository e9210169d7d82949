"""Welding power source / DAQ: (N, 4) float32 current, voltage, wire feed, travel speed."""

from weldfusion.sensors.modality import Modality

CHANNELS = ("current", "voltage", "wire_feed", "travel_speed")
CHANNEL_UNITS = ("A", "V", "m/min", "mm/s")
#: Window means handed to the model as ``params`` (knowledge guidance), see :mod:`.derived`.
PARAMS = ("current", "voltage", "travel_speed", "heat_input")

MODALITY = Modality(
    name="electrical",
    kind="signal",
    units="mixed",
    channels=CHANNELS,
    channel_units=CHANNEL_UNITS,
    description="welding power source / DAQ: current, voltage, wire feed, travel speed",
    formats=("csv", "tdms"),
    stream_keys=frozenset({"time_column", "time_unit", "time_format", "channels", "delimiter", "decimal", "group"}),
    params=PARAMS,
)
