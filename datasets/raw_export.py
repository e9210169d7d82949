"""HDF5 recording -> raw sensor files + ``recording.yaml`` (the inverse of ingest, for round trips).

Files written into ``out_dir``:

==============  ============================================================================
``video.mp4``   grey/RGB uint8 frames via ``cv2.VideoWriter`` (``mp4v``) at the stream rate
``thermal/``    ``frame_000000.tiff`` ... 16-bit counts; ``degC = counts * scale + offset``
``acoustic.wav`` ``soundfile``: ``FLOAT`` (Pa as is) or ``PCM_24`` (full scale = ``scale`` Pa)
``electrical.csv`` ``time_s`` + one column per channel, ``"<name> [<unit>]"``
``laser_monitor.csv``  the same layout (laser runs); ``fsw_machine.csv`` too (friction stir welds)
``emission.wav``  acoustic emission, like ``acoustic.wav``
``phases.csv``, ``defects.csv``   ``start_s,end_s,label`` on the recording clock
``recording.yaml``  the manifest that ingests all of it
``video_frames/``, ``*_boxes.coco.json``  with ``coco=True``: the video frames as PNGs and the
                simulator's video and IR boxes as COCO detection data sets (:mod:`weldfusion.datasets.coco_export`)
==============  ============================================================================

Each stream is written on its *own sensor clock*: recording time minus the stream attribute
``sim_clock_offset_s`` (0 when absent), so the manifest's ``time_offset_s`` = that offset
restores the recording clock. With ``include_offsets=False`` the offsets are left out of the
manifest and ``weldfusion sync`` has to find them. Irregular video/thermal streams get a
per-frame ``*_timestamps.csv``. Everything is written to a temporary folder renamed at the end.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf
import yaml
from tqdm import tqdm
from weldfusion.datasets.coco_export import check_coco, write_coco, write_video_frames
from weldfusion.datasets.label_io import write_labels
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.datasets.schema import ROOT_ATTRS
from weldfusion.recipes.errors import InvalidInput, OutputExists
from weldfusion.recipes.files import temporary_name
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY
from weldfusion.sensors.raw_source import IngestError, block_length
from weldfusion.sensors.registry import get as get_modality

#: Stream attribute holding the simulated clock offset of a sensor (seconds; recording = own + offset).
CLOCK_OFFSET_ATTR = "sim_clock_offset_s"
WAV_SUBTYPES = ("FLOAT", "PCM_24")
#: Process-data sensors exported as CSV (``time_s`` + one column per channel), read back by their CSV readers.
CSV_SENSORS = ("electrical", "laser_monitor", "fsw_machine")


def _blocks(rec: Recording, info: StreamInfo):
    """(i0, block) over a stream in bounded blocks."""
    k = block_length(info.sample_shape, info.dtype.itemsize)
    for i0 in range(0, info.n, k):
        yield i0, rec.read_index(info.name, i0, min(info.n, i0 + k))


def _own_times(rec: Recording, info: StreamInfo, offset: float, i0: int, i1: int) -> np.ndarray:
    return rec.times(info.name, i0, i1) - offset


def _timebase(rec: Recording, info: StreamInfo, offset: float, out_dir: Path, spec: dict) -> None:
    """Regular: ``rate`` + ``start_time_s`` on the own clock; irregular: a timestamps CSV."""
    if info.regular:
        spec["rate"] = float(info.rate)
        start = float(info.starting_time) - offset
        if start != 0.0:
            spec["start_time_s"] = start
        return
    name = f"{info.name}_timestamps.csv"
    with (out_dir / name).open("w") as fh:
        fh.write("time_s\n")
        k = 1 << 16
        for i0 in range(0, info.n, k):
            np.savetxt(fh, _own_times(rec, info, offset, i0, min(info.n, i0 + k)), fmt="%.9f")
    spec["timestamps"] = name
    if info.rate:
        spec["rate"] = float(info.rate)


def _export_video(rec: Recording, info: StreamInfo, offset: float, out_dir: Path, bar) -> dict:

    if info.dtype != np.uint8:
        raise IngestError(f"{rec.path}: /streams/video is {info.dtype}; mp4 export needs uint8 frames")
    color = len(info.sample_shape) == 3
    h, w = info.sample_shape[:2]
    fps = float(info.rate) if info.rate else 1.0
    path = out_dir / "video.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h), isColor=True)
    if not writer.isOpened():
        raise IngestError(f"{path}: OpenCV cannot write mp4 (mp4v) here")
    try:
        for _, block in _blocks(rec, info):
            for frame in block:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR if color else cv2.COLOR_GRAY2BGR))
            bar.update(len(block))
    finally:
        writer.release()
    spec: dict = {"path": path.name}
    if color:
        spec["color"] = True
    _timebase(rec, info, offset, out_dir, spec)
    return spec


def _nice_scale(span: float) -> float:
    """A round number >= span / 65000 (degC per count), e.g. 0.04, 0.05, 0.1."""
    raw = max(span / 65000.0, 1e-6)
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 4, 5, 10):
        if m * 10**exp >= raw:
            return float(f"{m * 10 ** exp:.6g}")
    return float(10 ** (exp + 1))


def _export_thermal(rec: Recording, info: StreamInfo, offset: float, out_dir: Path, bar) -> dict:

    lo, hi = math.inf, -math.inf
    for _, block in _blocks(rec, info):
        lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
    shift = float(math.floor(lo) - 1.0)
    scale = _nice_scale(hi - shift)
    folder = out_dir / "thermal"
    folder.mkdir()
    for i0, block in _blocks(rec, info):
        counts = np.clip(np.rint((block.astype(np.float64) - shift) / scale), 0, 65535).astype(np.uint16)
        for j, frame in enumerate(counts):
            target = folder / f"frame_{i0 + j:06d}.tiff"
            if not cv2.imwrite(str(target), frame):
                raise IngestError(f"{target}: OpenCV cannot write a 16-bit TIFF")
        bar.update(len(block))
    spec: dict = {"path": "thermal/*.tiff", "scale": scale, "offset": shift}
    _timebase(rec, info, offset, out_dir, spec)
    return spec


def _export_audio(rec: Recording, info: StreamInfo, offset: float, out_dir: Path, bar, subtype: str,
                  name: str = "acoustic") -> dict:
    if not info.regular:
        raise IngestError(f"{rec.path}: /streams/{name} has per-sample timestamps; WAV needs a regular rate")
    if subtype not in WAV_SUBTYPES:
        raise InvalidInput(f"wav subtype must be one of {WAV_SUBTYPES}, got {subtype!r}")
    channels = 1 if len(info.sample_shape) == 0 else info.sample_shape[0]
    full = 1.0
    if subtype != "FLOAT":
        peak = max((float(np.max(np.abs(b))) for _, b in _blocks(rec, info)), default=0.0)
        full = float(f"{max(peak, 1e-12) * (1 + 1e-6):.9g}")
    path = out_dir / f"{name}.wav"
    header_rate = max(1, round(info.rate))
    try:
        with sf.SoundFile(str(path), "w", samplerate=header_rate, channels=channels, subtype=subtype,
                          format="WAV") as f:
            for _, block in _blocks(rec, info):
                f.write((block.astype(np.float64) / full).reshape(len(block), channels))
                bar.update(len(block))
    except sf.LibsndfileError:  # libsndfile says only "System error": name the cause when it is the disk
        if shutil.disk_usage(out_dir).free < (1 << 20):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from None  # named by the verb's output
        raise
    spec: dict = {"path": path.name}
    if subtype != "FLOAT":
        spec["scale"] = full
    names = list(info.channel_names)
    units = info.attrs.get("channel_units")
    units = list(units) if isinstance(units, list) else [info.units] * len(names)
    if channels > 1 or names != ["mic"] or units != ["Pa"]:
        spec["channels"] = {}
        for i, (nm, unit) in enumerate(zip(names, units, strict=True)):
            entry: dict = {"column": i}
            if subtype != "FLOAT":
                entry["scale"] = full
            if unit != (info.units if info.units != "mixed" else None):
                entry["units"] = unit
            spec["channels"][str(nm)] = entry
        spec.pop("scale", None)
    if info.units != "Pa":
        spec["units"] = info.units
    _timebase(rec, info, offset, out_dir, spec)
    if spec["rate"] == header_rate:
        del spec["rate"]  # the WAV header says it
    return spec


def _export_csv(rec: Recording, info: StreamInfo, offset: float, out_dir: Path, bar, name: str,
                canonical: tuple[str, ...]) -> dict:
    names = list(info.channel_names)
    units = list(info.attrs.get("channel_units", [""] * len(names)))
    columns = [f"{nm} [{u}]" if u else nm for nm, u in zip(names, units, strict=True)]
    path = out_dir / f"{name}.csv"
    n_ch = 1 if info.sample_shape == () else info.sample_shape[0]
    with path.open("w") as fh:
        fh.write(",".join(["time_s", *columns]) + "\n")
        for i0, block in _blocks(rec, info):
            t = _own_times(rec, info, offset, i0, i0 + len(block))
            rows = np.column_stack([t, block.reshape(len(block), n_ch).astype(np.float64)])
            np.savetxt(fh, rows, fmt=["%.9f"] + ["%.9g"] * n_ch, delimiter=",")
            bar.update(len(block))
    return {"path": path.name, "time_column": "time_s",
            "channels": {nm: col for nm, col in zip(names, columns, strict=True) if nm in canonical}}


def _scalar(value):
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, (str, int, float, bool)) else None


def export_raw(
    recording: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    include_offsets: bool = True,
    wav_subtype: str = "FLOAT",
    force: bool = False,
    progress: bool = True,
    coco: bool = False,
) -> Path:
    """Write the raw files + ``recording.yaml`` of ``recording`` into ``out_dir``; returns the manifest path.

    Args:
        include_offsets: write each stream's ``sim_clock_offset_s`` as its ``time_offset_s``.
        wav_subtype: ``FLOAT`` (32-bit float Pa) or ``PCM_24`` (scaled to the peak).
        force: replace an existing ``out_dir``.
        coco: also write the video frames as PNGs and ``/truth/{video,thermal}_boxes`` as COCO JSON.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise OutputExists(f"{out_dir}: exists (use --force to replace it)")
    tmp = temporary_name(out_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)  # missing parent folders are created, as by every verb
    try:
        with Recording(recording) as rec:
            cameras = check_coco(rec) if coco else []
            meta = rec.meta
            manifest: dict = {key: str(meta[key]) for key in ("recording_id", "material_pair", "material_a",
                                                               "material_b", "process", "source") if key in meta}
            extra = {k: _scalar(v) for k, v in meta.items() if k not in ROOT_ATTRS}
            extra = {k: v for k, v in extra.items() if v is not None}
            if extra:
                manifest["metadata"] = extra
            streams: dict = {}
            for name, info in rec.streams.items():
                offset = float(info.attrs.get(CLOCK_OFFSET_ATTR, 0.0))
                with tqdm(total=info.n, desc=f"export {name}", disable=not progress, leave=False) as bar:
                    if name == "video":
                        spec = _export_video(rec, info, offset, tmp, bar)
                    elif name == "thermal":
                        spec = _export_thermal(rec, info, offset, tmp, bar)
                    elif name in ("acoustic", "emission"):
                        spec = _export_audio(rec, info, offset, tmp, bar, wav_subtype, name)
                    elif name in CSV_SENSORS:  # process data: the DAQ, a laser monitor, an FSW machine
                        spec = _export_csv(rec, info, offset, tmp, bar, name, get_modality(name).channels)
                    else:
                        raise IngestError(f"{rec.path}: no raw exporter for stream {name!r}")
                if info.sensor:
                    spec["sensor"] = info.sensor
                if len(info.gaps):
                    spec["gaps"] = [[float(g0) - offset, float(g1) - offset] for g0, g1 in info.gaps]
                if include_offsets and offset:
                    spec["time_offset_s"] = offset
                streams[name] = spec
            manifest["streams"] = streams
            for camera in cameras:
                info = rec.streams[camera]
                if camera == "video":
                    with tqdm(total=info.n, desc="export video frames (COCO)", disable=not progress, leave=False) as bar:
                        write_video_frames(rec, info, tmp, bar)
                offset = float(info.attrs.get(CLOCK_OFFSET_ATTR, 0.0))
                write_coco(rec, camera, _own_times(rec, info, offset, 0, info.n), tmp)
            labels = {}
            for table in ("phases", "defects"):
                rows = rec.labels(table)
                if rows:
                    write_labels(tmp / f"{table}.csv", rows)
                    labels[table] = f"{table}.csv"
            if labels:
                manifest["labels"] = labels
            names = rec.label_names
            if names is not None and (names[0], names[1]) != (DEFAULT_TAXONOMY.phases, DEFAULT_TAXONOMY.defects):
                manifest["taxonomy"] = {"phases": list(names[0]), "defects": list(names[1])}
        with (tmp / "recording.yaml").open("w") as fh:
            yaml.safe_dump(manifest, fh, sort_keys=False)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / "recording.yaml"
