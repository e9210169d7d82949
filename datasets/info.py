"""What a model needs to know about the windows it will see (the dataset <-> model contract).

A :class:`DataInfo` is produced by the windowed dataset and consumed by the model builder, so
that every encoder sizes itself from the data declaration and nothing else.

A batch (``WindowDataset`` items collated by ``torch.utils.data.default_collate``) has keys:

=================  ====================  ===============================================
key                shape / type          meaning
=================  ====================  ===============================================
``video``          (B, T, H, W) f32      normalised grey frames (zeros when absent)
``thermal``        (B, T, H, W) f32      normalised temperature maps (zeros when absent)
``acoustic``       (B, C, S) f32         normalised sound / acoustic emission
``electrical``     (B, C, S) f32         normalised current, voltage, wire_feed,
                                         travel_speed + derived power, heat_input,
                                         short_circuit (share of the sample in short circuit)
``present``        (B, M) bool           modality present, columns in ``DataInfo.names`` order
``params``         (B, 4) f32            standardised window means of current, voltage,
                                         travel_speed, heat_input (zeros without electrical)
``pair``           (B,) int64            index into ``DataInfo.pairs``
``phase``          (B,) int64            majority phase, index into ``DataInfo.phases``
``defects``        (B, D) f32            multi-hot, order of ``DataInfo.defects``
``t0``             (B,) f64              window start, seconds on the recording clock
``recording_id``   list[str]
``material_pair``  list[str]
``process``        list[str]
=================  ====================  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.recipes.config import from_dict, to_dict
from weldfusion.sensors.registry import window_params

#: Names of the ``params`` columns: the window parameters the declared sensors provide
#: (``Modality.params``; today electrical's current, voltage, travel_speed, heat_input).
PARAM_NAMES: tuple[str, ...] = window_params()


@dataclass(frozen=True)
class ModalityShape:
    """Shape of one modality inside a window.

    Attributes:
        name: modality name (``video`` …).
        kind: ``image`` -> ``shape`` is (T, H, W); ``signal`` -> ``shape`` is (C, S).
        channel_names: for signals, the C channel names in order; () for images.
        rate: samples (or frames) per second inside the window, ``S / window_s``.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    channel_names: tuple[str, ...] = ()
    rate: float = 0.0


@dataclass(frozen=True)
class DataInfo:
    """Everything the model builder needs about the data, in presence-mask column order."""

    modalities: tuple[ModalityShape, ...]
    phases: tuple[str, ...]
    defects: tuple[str, ...]
    pairs: tuple[str, ...]
    window_s: float
    params: tuple[str, ...] = PARAM_NAMES

    def to_dict(self) -> dict:
        """Plain data (stored inside checkpoints)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DataInfo:
        """Inverse of :meth:`to_dict` (a :class:`~weldfusion.recipes.config.ConfigError` on bad content)."""
        return from_dict(cls, data)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modalities)

    def modality(self, name: str) -> ModalityShape:
        for m in self.modalities:
            if m.name == name:
                return m
        raise KeyError(f"modality {name!r} not in this data (have: {', '.join(self.names)})")
