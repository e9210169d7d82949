"""Laser-cell process monitor: the laser controller's measured beam power and the weld monitor's
three photodiodes (N, 4) float32 — what a laser cell logs instead of an arc's current and voltage.

Channels: ``laser_power`` (W, measured beam power from the laser controller), ``plasma`` (V,
400-600 nm photodiode: metal-vapour plume emission), ``temperature`` (V, 1100-1800 nm: thermal
radiation of the melt pool), ``back_reflection`` (V, the laser wavelength reflected out of the
keyhole). Commercial weld monitors (e.g. the P/T/R signals of laser weld monitoring systems)
sample them at 10-100 kHz. Not part of the default data (``data.modalities.laser_monitor`` is
null unless a recipe names it; ``recipes/ti-ni_laser.yaml`` does).
"""

from weldfusion.sensors.modality import Modality

CHANNELS = ("laser_power", "plasma", "temperature", "back_reflection")
CHANNEL_UNITS = ("W", "V", "V", "V")

MODALITY = Modality(
    name="laser_monitor",
    kind="signal",
    units="mixed",
    channels=CHANNELS,
    channel_units=CHANNEL_UNITS,
    description="laser cell: measured beam power + plasma / temperature / back-reflection photodiodes",
    formats=("csv",),
    stream_keys=frozenset({"time_column", "time_unit", "time_format", "channels", "delimiter", "decimal"}),
    # multi-kW fibre/disk lasers; photodiode amplifiers into a +-10 V range
    plausible={"laser_power": (-100.0, 30_000.0), "plasma": (-10.0, 10.0), "temperature": (-10.0, 10.0),
               "back_reflection": (-10.0, 10.0)},
)
