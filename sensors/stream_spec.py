"""The keys of one stream in an ingest manifest (``streams.<name>:`` of ``recording.yaml``).

:class:`StreamSpec` holds every key any sensor understands; a sensor declares which of them
apply to it besides :data:`COMMON_KEYS` (``Modality.stream_keys``) and which raw formats it reads
(``Modality.formats``); :mod:`weldfusion.datasets.manifest` refuses the rest. Readers in
``sensors/<name>/io.py`` take these specs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from weldfusion.sensors.limits import rate_problem, time_problem

#: Keys every stream understands.
COMMON_KEYS: frozenset[str] = frozenset({"path", "format", "rate", "start_time_s", "time_offset_s", "sensor", "gaps"})
#: File extension -> format name (a folder's files, or a path without a ``format`` key).
EXTENSIONS = {".mp4": "mp4", ".avi": "avi", ".mkv": "mkv", ".mov": "mov", ".png": "png", ".jpg": "jpeg",
              ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff", ".npy": "npy", ".npz": "npz", ".csv": "csv",
              ".wav": "wav", ".flac": "flac", ".tdms": "tdms",
              ".mf4": "mdf", ".mdf": "mdf", ".xdf": "xdf",
              ".cih": "mraw", ".cihx": "mraw", ".cine": "cine"}


@dataclass
class ChannelSpec:
    """Where one channel comes from: a ``column`` (name, or index for WAV/TDMS) or a constant ``value``.

    The stored value is ``raw * scale + offset`` in ``units`` (acoustic channels; electrical channels
    are always stored in their canonical units).
    """

    column: str | int | None = None
    value: float | None = None
    scale: float = 1.0
    offset: float = 0.0
    units: str | None = None

    def __post_init__(self) -> None:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of 'column' or 'value'")
        for key in ("value", "scale", "offset"):
            value = getattr(self, key)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number, got {value}")


@dataclass
class StreamSpec:
    """One stream of the manifest (see the module docstring for the meaning of each key)."""

    path: str
    format: str | None = None
    rate: float | None = None
    start_time_s: float = 0.0
    time_offset_s: float = 0.0
    timestamps: str | None = None
    time_column: str | None = None
    time_unit: Literal["s", "ms", "us", "ns"] = "s"
    time_format: str | None = None
    scale: float | None = None
    offset: float | None = None
    units: str | None = None
    channels: dict[str, str | int | ChannelSpec] | None = None
    color: bool = False
    key: str | None = None
    group: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    sensor: str = ""
    gaps: list[tuple[float, float]] | None = None
    xdf_stream: str | None = None
    frame_shape: list[int] | None = None
    emissivity: float | None = None
    reflected_temp_c: float | None = None

    def __post_init__(self) -> None:
        problems = [rate_problem(self.rate) if self.rate is not None else None,
                    time_problem(self.start_time_s, "start_time_s"), time_problem(self.time_offset_s, "time_offset_s")]
        for key in ("scale", "offset"):
            value = getattr(self, key)
            if value is not None and not math.isfinite(value):
                problems.append(f"{key} must be a finite number, got {value}")
        if self.emissivity is not None and not 0.0 < self.emissivity <= 1.0:
            problems.append(f"emissivity must be in (0, 1], got {self.emissivity}")
        if self.reflected_temp_c is not None and not -273.15 < self.reflected_temp_c < 2000.0:
            problems.append(f"reflected_temp_c must be in (-273.15, 2000) degC, got {self.reflected_temp_c}")
        for gap in self.gaps or []:
            problems += [time_problem(gap[0], "gap start"), time_problem(gap[1], "gap end")]
            if not gap[1] > gap[0]:
                problems.append(f"every gap needs start < end, got {list(gap)}")
        problems = [p for p in problems if p]
        if problems:
            raise ValueError(problems[0])
