"""The weldfusion HDF5 recording format, version 1 (see docs/DESIGN.md "Recording format").

::

    /                         attrs: format, format_version, recording_id, material_pair,
                                     material_a, material_b, process, source, created
    /streams/<modality>/data          (N, H, W) | (N, H, W, 3) images, (N,) | (N, C) signals
    /streams/<modality>/timestamps    (N,) float64 seconds   -- OR attrs starting_time + rate
    /streams/<modality>/gaps          (G, 2) float64 [start, end) seconds without valid data
                        attrs: modality, units, channel_names, sensor, rate (nominal Hz)
    /labels/phases, /labels/defects   compound rows (start_s f8, end_s f8, label str)
                        /labels attrs: phase_names, defect_names (the taxonomy used)

All times are seconds on the recording clock. Plain datasets, gzip + shuffle filters only, so
files open in h5dump / HDFView.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import h5py
import numpy as np
from weldfusion.recipes.taxonomy import LabelInterval

#: Tolerance (s) of every comparison of times on the recording clock (sample grids, window
#: starts, gap edges, stream ends): times that differ by less are the same instant.
TIME_EPS = 1e-9

FORMAT = "weldfusion-recording"
FORMAT_VERSION = 1
ROOT_ATTRS: tuple[str, ...] = (
    "format",
    "format_version",
    "recording_id",
    "material_pair",
    "material_a",
    "material_b",
    "process",
    "source",
    "created",
)
LABEL_TABLES: tuple[str, ...] = ("phases", "defects")
LABEL_DTYPE = np.dtype([("start_s", "<f8"), ("end_s", "<f8"), ("label", h5py.string_dtype("utf-8"))])

#: Default chunk length along time for signal streams, in seconds of recording: about a quarter of
#: a demo window, so that a window read touches few chunks and decompresses little it does not need.
DEFAULT_CHUNK_S = 0.25
#: Image streams are chunked this many frames per chunk, whatever the frame rate: a window keeps
#: only the frames nearest its sample times (16 of 100 at 250 Hz, 16 of 4000 at 10 kHz), and
#: one-frame chunks let a window read decompress just those. ``weldfusion bench data``: CPU per
#: demo window 1.7 ms (HDF5 ~80 % of the in-memory ceiling) vs 2.8 ms (~48 %) with 0.25 s image chunks.
IMAGE_CHUNK_FRAMES = 1
#: Upper bound of one chunk in bytes (HDF5's chunk cache default is 1 MiB per dataset).
DEFAULT_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class RecordingMeta:
    """Root attributes of a recording (``format``/``format_version``/``created`` are added by the writer)."""

    recording_id: str
    material_pair: str
    material_a: str
    material_b: str
    process: str
    source: str = "unknown"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("recording_id", "material_pair", "material_a", "material_b", "process", "source"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"recording metadata: {key} must be a non-empty string, got {value!r}")


def chunk_shape(
    sample_shape: tuple[int, ...],
    itemsize: int,
    rate: float | None,
    n_expected: int | None = None,
    chunk_s: float = DEFAULT_CHUNK_S,
    max_bytes: int = DEFAULT_CHUNK_BYTES,
) -> tuple[int, ...]:
    """Chunk shape for a stream: whole samples, ``chunk_s`` seconds long, at most ``max_bytes``;
    image streams (2-D or 3-D samples) :data:`IMAGE_CHUNK_FRAMES` frames per chunk.

    Args:
        sample_shape: shape of one sample, e.g. (H, W) for frames or (C,) for signals.
        itemsize: bytes per element.
        rate: nominal sample rate in Hz (None for unknown: 256 samples are used).
        n_expected: number of samples if known (a chunk is never longer than the stream).
    Returns:
        ``(k, *sample_shape)`` with ``k >= 1``.
    """
    sample_bytes = max(1, int(np.prod(sample_shape, dtype=np.int64)) * itemsize)
    k = 256 if rate is None else max(1, math.ceil(chunk_s * rate))
    if len(sample_shape) >= 2:  # (H, W) or (H, W, 3) frames
        k = IMAGE_CHUNK_FRAMES
    k = min(k, max(1, max_bytes // sample_bytes))
    if n_expected:
        k = min(k, n_expected)
    return (max(1, k), *sample_shape)


def labels_to_array(rows: list[LabelInterval] | list[tuple[float, float, str]]) -> np.ndarray:
    """Label rows -> structured array with :data:`LABEL_DTYPE` (sorted by start time)."""
    arr = np.empty(len(rows), dtype=LABEL_DTYPE)
    for i, row in enumerate(rows):
        start, end, label = (row.start_s, row.end_s, row.label) if isinstance(row, LabelInterval) else row
        arr[i] = (float(start), float(end), str(label))
    order = np.argsort(arr["start_s"], kind="stable")
    return arr[order]


def array_to_labels(arr: np.ndarray) -> list[LabelInterval]:
    """Structured label array from HDF5 -> list of :class:`LabelInterval`."""
    out = []
    for row in arr:
        label = row["label"]
        if isinstance(label, bytes):
            label = label.decode("utf-8")
        out.append(LabelInterval(float(row["start_s"]), float(row["end_s"]), str(label)))
    return out
