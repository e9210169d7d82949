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

import importlib
from dataclasses import dataclass

from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape


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
    """The :class:`EncoderSpec` of ``modality`` from ``weldfusion.sensors.<modality>.encoder``."""
    module_name = f"weldfusion.sensors.{modality}.encoder"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is None or not module_name.startswith(err.name):
            raise  # a module the encoder itself imports is missing
        raise KeyError(f"modality {modality!r} has no encoder (expected module {module_name})") from None
    spec = getattr(module, "ENCODER", None)
    if not isinstance(spec, EncoderSpec):
        raise KeyError(f"{module_name} does not define ENCODER = EncoderSpec(...)")
    return spec
