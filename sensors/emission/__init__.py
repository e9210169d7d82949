"""Acoustic-emission sensor: a piezo on the work piece or fixture, 0.3-5 MHz, (N,) float32 V.

Its own sensor, not a channel of the microphone: a microphone (16-192 kHz) stored and resampled
at the AE rate would cost the live monitor a MHz-rate anti-aliasing filter on every hop, and the
two answer different questions (air-borne arc sound vs structure-borne hits from cracking and
phase changes). Inside a window AE arrives as its RMS envelope (``window.py``); the encoder reads
hits off that envelope (``encoder.py``). Not part of the default data (``data.modalities.emission``
is ``null`` unless a recipe asks for it: ``data: {modalities: {emission: {}}}``).
"""

from weldfusion.sensors.modality import Modality

MODALITY = Modality(
    name="emission",
    kind="signal",
    units="V",
    channels=("ae",),
    channel_units=("V",),
    description="piezo acoustic-emission sensor (0.3-5 MHz), after its preamplifier",
    formats=("wav", "flac", "xdf"),
    stream_keys=frozenset({"scale", "offset", "units", "channels", "xdf_stream"}),
    # a 40 dB preamplifier into a +-10 V acquisition range
    plausible={"ae": (-10.0, 10.0)},
)
