"""A made-up sensor for the plug-in test: a strain gauge on the clamping fixture (1 channel, um/m).

This folder is everything weldfusion needs to know about it (``tests/test_sensor_plugin.py`` adds
it to ``weldfusion.sensors`` and runs it through ingest, windows, model, training and streaming).
"""

from weldfusion.sensors.modality import Modality

MODALITY = Modality(
    name="strain",
    kind="signal",
    units="um/m",
    channels=("strain",),
    channel_units=("um/m",),
    description="strain gauge on the clamping fixture",
    formats=("csv",),
    stream_keys=frozenset({"time_column"}),
)
