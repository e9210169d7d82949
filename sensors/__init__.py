"""Sensor families: one sub-package per modality (reader, encoder, physical simulator)."""

from weldfusion.sensors.modality import Modality
from weldfusion.sensors.registry import get, modalities, modality_names

__all__ = ["Modality", "get", "modalities", "modality_names"]
