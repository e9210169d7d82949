"""High-speed camera on the arc / weld pool: (N, H, W) uint8 grey frames (or (N, H, W, 3))."""

from weldfusion.sensors.modality import Modality

MODALITY = Modality(
    name="video",
    kind="image",
    units="gray8",
    description="high-speed camera on arc / weld pool",
    formats=("mp4", "avi", "mkv", "mov", "png", "jpeg", "tiff", "mraw", "cine", "xdf"),
    stream_keys=frozenset({"timestamps", "time_column", "time_unit", "time_format", "color", "xdf_stream", "frame_shape"}),
)
