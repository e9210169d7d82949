"""Radiometric IR camera: (N, H, W) float32 temperature maps in degC."""

from weldfusion.sensors.modality import Modality

MODALITY = Modality(
    name="thermal",
    kind="image",
    units="degC",
    description="radiometric IR camera (MWIR/SWIR)",
    formats=("tiff", "png", "npy", "npz", "csv", "flir", "xdf"),
    stream_keys=frozenset({"timestamps", "time_column", "time_unit", "time_format", "scale", "offset", "key",
                           "delimiter", "emissivity", "reflected_temp_c", "xdf_stream", "frame_shape"}),
)
