"""HDF5 recording format, time-aligned windowed dataset, label taxonomy, splits, normalisation."""

from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.datasets.schema import FORMAT, FORMAT_VERSION, RecordingMeta
from weldfusion.datasets.validate import validate
from weldfusion.datasets.writer import RecordingWriter, StreamAppender
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, LabelInterval, Taxonomy

__all__ = [
    "DEFAULT_TAXONOMY",
    "FORMAT",
    "FORMAT_VERSION",
    "LabelInterval",
    "Recording",
    "RecordingMeta",
    "RecordingWriter",
    "StreamAppender",
    "StreamInfo",
    "Taxonomy",
    "validate",
]
