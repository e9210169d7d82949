"""Arc microphone and/or acoustic-emission sensor: (N,) or (N, C) float32."""

from weldfusion.sensors.modality import Modality

MODALITY = Modality(
    name="acoustic",
    kind="signal",
    units="Pa",
    description="arc microphone (16-192 kHz) or piezo acoustic-emission sensor (0.5-5 MHz)",
    formats=("wav", "flac", "xdf"),
    stream_keys=frozenset({"scale", "offset", "units", "channels", "xdf_stream"}),
    # 2 kPa is 160 dB SPL: louder than any arc heard by a microphone at a working distance.
    plausible={"acoustic": (-2000.0, 2000.0)},
)
