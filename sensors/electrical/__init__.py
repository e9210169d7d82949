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
    formats=("csv", "tdms", "mdf", "xdf"),
    stream_keys=frozenset({"time_column", "time_unit", "time_format", "channels", "delimiter", "decimal", "group",
                           "xdf_stream"}),
    params=PARAMS,
    # Whole recordings, idle included: open-circuit voltage up to 113 V DC (IEC 60974-1), AC TIG
    # swings negative, short-circuit current peaks of GMAW reach several hundred amperes.
    plausible={"current": (-50.0, 1000.0), "voltage": (-10.0, 113.0), "wire_feed": (-1.0, 30.0),
               "travel_speed": (-1.0, 200.0)},
    plausible_by_process={"TIG": {"current": (-600.0, 600.0), "voltage": (-113.0, 113.0)},
                          "laser": {"current": (-10.0, 500.0), "wire_feed": (-1.0, 15.0)}},
)
