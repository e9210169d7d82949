"""HDF5 recording format, time-aligned windowed dataset, label taxonomy, splits, normalisation."""

from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.datasets.schema import FORMAT, FORMAT_VERSION, LabelInterval, RecordingMeta
from weldfusion.datasets.taxonomy import DEFAULT_TAXONOMY, Taxonomy
from weldfusion.datasets.validate import validate
from weldfusion.datasets.writer import RecordingWriter, StreamAppender

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
