"""The encoder protocol and the registry that finds an encoder by modality name.

Every modality ``<name>`` declared in ``sensors/<name>/__init__.py`` provides its encoder in
``sensors/<name>/encoder.py`` as ``ENCODER = EncoderSpec(...)``. The fusion code only sees the
protocol below, so adding a sensor needs no change in ``fusion/``.

An encoder is built as ``spec.encoder(shape=ModalityShape, info=DataInfo, dim=D, **config)``
where ``config`` are the fields of ``spec.config`` (a dataclass), and its forward is::

    forward(x, params, pair) -> {"tokens": (B, N, D), "pooled": (B, D),
                                 "attention": {name: (B, ...)}, "aux": {term: (B,) or ()}}

``x`` is the modality's batch tensor, ``params`` (B, P) the standardised process parameters
(zeros when unknown), ``pair`` (B,) the material-pair index. ``aux`` holds unweighted auxiliary
loss terms: per-sample (B,) values are averaged over the samples where the modality is present,
scalars (parameter norms) are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.registry import UnknownModality, modality_names
from weldfusion.sensors.registry import part as sensor_part


class Encoder(nn.Module):
    """Base class of all modality encoders.

    Attributes:
        modality: name of the modality it encodes.
        dim: size D of its tokens and pooled vector.
    """

    modality: str = ""

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int) -> None:
        super().__init__()
        self.modality = shape.name
        self.dim = dim

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:  # pragma: no cover - protocol
        raise NotImplementedError

    @staticmethod
    def signal_shape(shape: ModalityShape, what: str) -> tuple[int, int]:
        """(C, S) of a signal modality's windows; ``ValueError`` unless it is a signal with a known rate."""
        if shape.kind != "signal" or len(shape.shape) != 2:
            raise ValueError(f"{shape.name}: {what} needs signal windows (C, S), got {shape.shape}")
        if shape.rate <= 0:
            raise ValueError(f"{shape.name}: sample rate unknown (rate={shape.rate})")
        return int(shape.shape[0]), int(shape.shape[1])


@dataclass(frozen=True)
class EncoderSpec:
    """What ``sensors/<name>/encoder.py`` exports as ``ENCODER``.

    Attributes:
        encoder: the :class:`Encoder` subclass.
        config: the dataclass of its settings (a section of the model config).
    """

    encoder: type[Encoder]
    config: type


def encoder_spec(modality: str) -> EncoderSpec:
    """The :class:`EncoderSpec` of ``modality`` from ``weldfusion.sensors.<modality>.encoder``
    (a plugin found by name through the sensor registry)."""
    if modality not in modality_names():
        raise UnknownModality(f"modality {modality!r} has no encoder (no folder sensors/{modality}/ declares it)")
    module = sensor_part(modality, "encoder")
    if module is None:
        raise InvalidInput(f"modality {modality!r} has no encoder (expected module "
                           f"weldfusion.sensors.{modality}.encoder)")
    spec = getattr(module, "ENCODER", None)
    if not isinstance(spec, EncoderSpec):
        raise InvalidInput(f"{module.__name__} does not define ENCODER = EncoderSpec(...)")
    return spec
