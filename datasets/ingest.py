"""Raw sensor files + ``recording.yaml`` -> one HDF5 recording, streamed block by block.

:func:`ingest` opens every stream of the manifest with its reader
(``weldfusion.sensors.<modality>.io.open_source``; headers, time columns and label CSVs are all
checked before anything is written), then copies each stream through
:meth:`RecordingWriter.create_stream` + ``append`` in blocks of at most
:data:`~weldfusion.sensors.raw_source.BLOCK_BYTES`, adding the stream's ``time_offset_s``.
The result is written beside the target, validated with :func:`weldfusion.datasets.validate.validate`
and only then renamed onto ``out_path``: on any error nothing is left behind and an existing
output file is untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm
from weldfusion.datasets.label_io import read_labels
from weldfusion.datasets.manifest import Manifest, load_manifest
from weldfusion.datasets.schema import RecordingMeta
from weldfusion.datasets.validate import check
from weldfusion.datasets.writer import DEFAULT_COMPRESSION_LEVEL, RecordingWriter
from weldfusion.recipes.errors import InvalidInput, OutputExists
from weldfusion.recipes.files import remove_stale_temporaries, temporary_name
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, LabelInterval, Taxonomy
from weldfusion.sensors.electrical.seam import ignition_time, seam_position, times_at_positions
from weldfusion.sensors.raw_source import IngestError, RawSource
from weldfusion.sensors.registry import get as get_modality
from weldfusion.sensors.registry import part as sensor_part


@dataclass(frozen=True)
class StreamReport:
    """What was written for one stream (times on the recording clock)."""

    name: str
    n: int
    shape: tuple[int, ...]
    rate: float
    regular: bool
    t_start: float
    t_end: float
    source: Path


def open_source(manifest: Manifest, name: str) -> RawSource:
    """The reader of modality ``name`` (``weldfusion.sensors.<name>.io.open_source``) applied to the manifest."""
    module = sensor_part(name, "io")
    if module is None:
        raise IngestError(f"{manifest.path}: streams.{name}: no reader for this modality")
    return module.open_source(manifest, name)


def open_sources(manifest: Manifest) -> dict[str, RawSource]:
    """Every stream of the manifest opened (files found, headers and time columns checked)."""
    return {name: open_source(manifest, name) for name in manifest.streams}


def _recording_span(spans: list[tuple[float, float]]) -> tuple[float, float] | None:
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


def _label_times(manifest: Manifest, sources: dict[str, RawSource], table: str):
    """For a label file in frames or mm: values -> recording times (s), from the manifest's streams."""
    spec = manifest.labels.spec(table)
    where = f"{manifest.path}: labels.{table}"
    if spec.unit == "frames":
        src = sources.get(spec.stream)
        if src is None:
            raise IngestError(f"{where}: unit frames counts frames of stream {spec.stream!r}, which the manifest lacks")
        own = src.timestamps if src.timestamps is not None else np.concatenate([t for _, t in src.blocks_with_times()])
        t = np.append(own, own[-1] + 1.0 / (src.rate or 1.0)) + manifest.streams[spec.stream].time_offset_s
        return lambda frames: np.interp(frames, np.arange(len(t), dtype=np.float64), t)
    if spec.unit == "mm":
        src = sources.get("electrical")
        names = list(src.channel_names or ()) if src is not None else []
        if "travel_speed" not in names or "current" not in names:
            raise IngestError(f"{where}: unit mm needs the current and travel_speed channels of the process data")
        data, times = zip(*src.blocks_with_times(), strict=True)
        x = np.concatenate(data).reshape(-1, len(names)).astype(np.float64)
        t = np.concatenate(times) + manifest.streams["electrical"].time_offset_s
        pos = seam_position(t, x[:, names.index("travel_speed")], ignition_time(t, x[:, names.index("current")]))
        return lambda mm: times_at_positions(t, pos, mm)
    return None


def _read_all_labels(manifest: Manifest, taxonomy: Taxonomy, span: tuple[float, float] | None,
                     sources: dict[str, RawSource]) -> dict[str, list[LabelInterval]]:
    out = {}
    for table in ("phases", "defects"):
        spec = manifest.labels.spec(table)
        out[table] = [] if spec is None else read_labels(
            manifest.resolve(spec.path), table, taxonomy, span, fmt=spec.format, unit=spec.unit, tier=spec.tier,
            to_seconds=_label_times(manifest, sources, table))
    return out


def convert_stream(writer: RecordingWriter, name: str, source: RawSource, time_offset_s: float,
                   gaps: list[tuple[float, float]] | None = None, progress: bool = True) -> StreamReport:
    """Copy one :class:`RawSource` into ``writer`` block by block, shifting its times by ``time_offset_s``."""
    regular = source.regular
    app = writer.create_stream(
        name,
        sample_shape=source.sample_shape,
        dtype=source.dtype,
        units=source.units,
        rate=source.rate,
        starting_time=source.start + time_offset_s,
        irregular=not regular,
        channel_names=source.channel_names,
        channel_units=source.channel_units,
        sensor=source.sensor,
        attrs={"time_offset_s": float(time_offset_s), "source_file": str(source.path)},
        expected_samples=source.n,
    )
    unit = "frame" if get_modality(name).kind == "image" else "sample"
    first = last = None
    with tqdm(total=source.n, desc=f"ingest {name}", unit=unit, unit_scale=True, disable=not progress,
              leave=False) as bar:
        if regular:
            for block in source.blocks():
                app.append(block)
                bar.update(len(block))
        else:
            for block, t in source.blocks_with_times():
                t = t + time_offset_s
                app.append(block, t)
                if len(t):
                    first = float(t[0]) if first is None else first
                    last = float(t[-1])
                bar.update(len(block))
    if app.n == 0:
        raise IngestError(f"{source.path}: no samples")
    if source.timestamps is not None and app.n != len(source.timestamps):
        raise IngestError(f"{source.path}: {app.n} samples but {len(source.timestamps)} timestamps")
    if gaps:
        app.set_gaps([(g0 + time_offset_s, g1 + time_offset_s) for g0, g1 in gaps])
    if regular:
        t0 = source.start + time_offset_s
        t1 = t0 + app.n / source.rate
    else:
        t0, t1 = first, last + 1.0 / source.rate
    return StreamReport(name, app.n, (app.n, *source.sample_shape), float(source.rate), regular, t0, t1, source.path)


def ingest(
    manifest_path: str | os.PathLike,
    out_path: str | os.PathLike,
    force: bool = False,
    *,
    taxonomy: Taxonomy | None = None,
    compression_level: int = DEFAULT_COMPRESSION_LEVEL,
    progress: bool = True,
    warnings: list[str] | None = None,
) -> list[StreamReport]:
    """Ingest the recording described by ``manifest_path`` into ``out_path`` (HDF5).

    Args:
        force: replace an existing ``out_path`` (only once the new file is complete and valid).
        compression_level: gzip level 0-9 of the streams (the file stays standard HDF5 at any level).
        taxonomy: label names to check against (a recipe's), winning over the manifest's own
            ``taxonomy``; default: the manifest's, else the project default.
        progress: show a tqdm bar per stream.
        warnings: if given, the validator's warnings on the written file (implausible values:
            see :func:`weldfusion.datasets.validate.check`) are appended to it.
    Returns:
        One :class:`StreamReport` per stream.
    """
    out = Path(out_path)
    if not (isinstance(compression_level, int) and 0 <= compression_level <= 9):
        raise InvalidInput(f"compression level must be an integer 0-9, got {compression_level!r}")
    manifest = load_manifest(manifest_path)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise InvalidInput(f"{out}: output must end in .h5 (or .hdf5)")
    if out.is_dir():
        raise InvalidInput(f"{out}: is a directory, expected an .h5 file path")
    if out.exists() and not force:
        raise OutputExists(f"{out}: output exists (use --force to replace it)")
    if out.exists() and Path(manifest_path).exists() and os.path.samefile(out, manifest_path):
        raise InvalidInput(f"{out}: is the manifest; choose another output")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent)  # what a killed ingest left beside the output
    tax = taxonomy if taxonomy is not None else manifest.label_taxonomy(DEFAULT_TAXONOMY)
    sources = open_sources(manifest)
    offsets = {name: manifest.streams[name].time_offset_s for name in sources}
    known = [s.span() for s in sources.values()]
    if all(span is not None for span in known):
        estimate = _recording_span([(a + offsets[n], b + offsets[n]) for n, (a, b) in zip(sources, known, strict=True)])
        _read_all_labels(manifest, tax, estimate, sources)  # fail fast, before converting anything
    else:
        _read_all_labels(manifest, tax, None, sources)
    meta = RecordingMeta(
        recording_id=manifest.recording_id,
        material_pair=manifest.material_pair,
        material_a=manifest.material_a,
        material_b=manifest.material_b,
        process=manifest.process,
        source=manifest.source,
        extra=dict(manifest.metadata),
    )
    staging = temporary_name(out)
    reports: list[StreamReport] = []
    try:
        with RecordingWriter(staging, meta, overwrite=True, taxonomy=tax, compression_level=compression_level) as writer:
            for name, source in sources.items():
                spec = manifest.streams[name]
                reports.append(convert_stream(writer, name, source, spec.time_offset_s, spec.gaps, progress))
            span = _recording_span([(r.t_start, r.t_end) for r in reports])
            labels = _read_all_labels(manifest, tax, span, sources)
            writer.write_labels(phases=labels["phases"], defects=labels["defects"])
        findings = check(staging)
        problems = findings.problems
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            raise IngestError(f"{manifest.path}: the recording it describes fails validation: {problems[0]}{more}")
        if out.exists() and not force:
            raise OutputExists(f"{out}: output appeared while ingesting; not replaced")
        os.replace(staging, out)
        if warnings is not None:
            warnings.extend(f"{out}: {w}" for w in findings.warnings)
    finally:
        staging.unlink(missing_ok=True)
    return reports


def summary(reports: list[StreamReport]) -> list[str]:
    """One line per written stream."""
    lines = []
    for r in reports:
        kind = "regular" if r.regular else "timestamps"
        lines.append(f"{r.name:<11} {r.n:>10} x {str(r.shape[1:]):<14} {r.rate:>11.6g} Hz ({kind})  "
                     f"[{r.t_start:.4f}, {r.t_end:.4f}) s  <- {r.source}")
    return lines


__all__ = ["StreamReport", "convert_stream", "ingest", "open_source", "open_sources", "summary"]
