"""Declaration of a sensor modality: the one place a modality's name, kind and channels live.

Every other part of weldfusion (HDF5 schema, manifest, windowed dataset, sync, encoders, fusion)
sizes itself from these declarations. A new sensor is a new sub-package ``sensors/<name>/``:

=====================  =========================================================================
file                   declares
=====================  =========================================================================
``__init__.py``        ``MODALITY = Modality(...)``: name, kind, units, channels, manifest
                       formats and stream keys, the window parameters it provides
``window.py``          ``WINDOW``: its window config class (``data.modalities.<name>``)
``io.py``              ``open_source(manifest, name)``: the readers of its raw file formats
``derived.py``         (optional) channels derived at the native rate before resampling
``sync.py``            (optional) its clock-sync feature ``activity(block, channel_names, where)``
                       and traits (``BINNED``, ``FOLLOWS``)
``encoder.py``         ``ENCODER = EncoderSpec(...)``: its encoder and encoder config class
``simulate.py``        (optional) its physical simulator
=====================  =========================================================================

:mod:`weldfusion.sensors.registry` finds the folders and their parts by name.
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
        formats: raw file formats its reader takes (manifest ``format``; the first is the default
            for files whose extension names no format).
        stream_keys: manifest stream keys it understands besides the common ones
            (:data:`weldfusion.sensors.stream_spec.COMMON_KEYS`); any other key is an error.
        params: per-window process parameters this sensor provides (``params`` of a batch, the
            inputs of MS-STAN's knowledge guidance); at most one declared sensor provides them.
        plausible: per channel (the modality's name for single-channel and image streams) the
            range ``(low, high)`` in its units outside which a value is implausible — the
            validator warns (``weldfusion inspect`` lists it); ``plausible_by_process`` overrides
            it per welding process (``GMAW``, ``TIG``, ``laser``).
    """

    name: str
    kind: Kind
    units: str
    channels: tuple[str, ...] = ()
    channel_units: tuple[str, ...] = ()
    description: str = ""
    formats: tuple[str, ...] = ()
    stream_keys: frozenset[str] = frozenset()
    params: tuple[str, ...] = ()
    plausible: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False, hash=False)
    plausible_by_process: dict[str, dict[str, tuple[float, float]]] = field(
        default_factory=dict, compare=False, hash=False)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in ("image", "signal"):
            raise ValueError(f"modality {self.name!r}: kind must be 'image' or 'signal', got {self.kind!r}")
        if self.channel_units and len(self.channel_units) != len(self.channels):
            raise ValueError(f"modality {self.name!r}: channel_units must match channels")

    def plausible_range(self, process: str) -> dict[str, tuple[float, float]]:
        """Plausible ``(low, high)`` per channel for a recording of ``process``."""
        return {**self.plausible, **self.plausible_by_process.get(process, {})}
