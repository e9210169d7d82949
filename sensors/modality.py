"""Declaration of a sensor modality: the one place a modality's name, kind and channels live.

Every other part of weldfusion (HDF5 schema, windowed dataset, encoders, fusion) sizes itself
from these declarations. A new sensor is a new sub-package of ``sensors/`` whose ``__init__``
defines ``MODALITY``; :mod:`weldfusion.sensors.registry` finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["image", "signal"]


@dataclass(frozen=True)
class Modality:
    """One sensor family.

    Attributes:
        name: stream name in ``/streams/<name>`` and key in a batch dict.
        kind: ``"image"`` streams are (N, H, W) frames; ``"signal"`` streams are (N,) or (N, C).
        units: physical units of the stored data (e.g. ``"degC"``, ``"Pa"``, ``"gray8"``).
        channels: canonical channel names for signals (empty = any number of channels).
        channel_units: units of each channel, same order as ``channels``.
        description: one line for ``inspect`` and the README.
    """

    name: str
    kind: Kind
    units: str
    channels: tuple[str, ...] = ()
    channel_units: tuple[str, ...] = ()
    description: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in ("image", "signal"):
            raise ValueError(f"modality {self.name!r}: kind must be 'image' or 'signal', got {self.kind!r}")
        if self.channel_units and len(self.channel_units) != len(self.channels):
            raise ValueError(f"modality {self.name!r}: channel_units must match channels")
