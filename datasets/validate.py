"""Validator: lists every schema violation of a recording file (an empty list means valid)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
from weldfusion.datasets.schema import FORMAT, FORMAT_VERSION, LABEL_TABLES, ROOT_ATTRS
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY
from weldfusion.sensors.registry import modalities

#: Labels may stick out of the recorded span by this much (seconds) before it is an error.
LABEL_SPAN_TOLERANCE_S = 1e-3
_SCAN_BYTES = 64 << 20


def _str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_stream(name: str, group: h5py.Group, problems: list[str], span: list[float]) -> None:
    where = f"/streams/{name}"
    mods = modalities()
    if name not in mods:
        problems.append(f"{where}: unknown modality {name!r} (known: {', '.join(mods)})")
        return
    kind = mods[name].kind
    if "data" not in group or not isinstance(group["data"], h5py.Dataset):
        problems.append(f"{where}: missing dataset 'data'")
        return
    data = group["data"]
    shape = data.shape
    if kind == "image" and not (len(shape) == 3 or (len(shape) == 4 and shape[3] == 3)):
        problems.append(f"{where}/data: image stream must be (N, H, W) or (N, H, W, 3), got {shape}")
    if kind == "signal" and len(shape) not in (1, 2):
        problems.append(f"{where}/data: signal stream must be (N,) or (N, C), got {shape}")
    attrs = group.attrs
    for key in ("modality", "units"):
        if key not in attrs:
            problems.append(f"{where}: missing attribute {key!r}")
    if "modality" in attrs and _str(attrs["modality"]) != name:
        problems.append(f"{where}: attribute modality={_str(attrs['modality'])!r} does not match group name")
    if kind == "signal":
        n_ch = shape[1] if len(shape) == 2 else 1
        names = attrs.get("channel_names")
        if names is None:
            problems.append(f"{where}: missing attribute 'channel_names'")
        elif len(np.atleast_1d(names)) != n_ch:
            problems.append(f"{where}: {len(np.atleast_1d(names))} channel_names for {n_ch} channels")
    rate = attrs.get("rate")
    if rate is not None and not (np.isfinite(rate) and rate > 0):
        problems.append(f"{where}: rate must be > 0 Hz, got {rate}")
    n = shape[0] if shape else 0
    if "timestamps" in group:
        if "starting_time" in attrs:
            problems.append(f"{where}: has both 'timestamps' and attribute 'starting_time'")
        ts = group["timestamps"][()]
        if ts.shape != (n,):
            problems.append(f"{where}/timestamps: shape {ts.shape} != ({n},)")
        elif n:
            if not np.all(np.isfinite(ts)):
                problems.append(f"{where}/timestamps: contains NaN/inf")
            elif np.any(np.diff(ts) <= 0):
                problems.append(f"{where}/timestamps: not strictly increasing")
            else:
                span[0], span[1] = min(span[0], ts[0]), max(span[1], ts[-1] + (1.0 / rate if rate else 0.0))
    else:
        if "starting_time" not in attrs:
            problems.append(f"{where}: needs 'timestamps' or attributes 'starting_time' + 'rate'")
        elif rate is None:
            problems.append(f"{where}: regular stream without attribute 'rate'")
        elif np.isfinite(rate) and rate > 0:
            st = float(attrs["starting_time"])
            span[0], span[1] = min(span[0], st), max(span[1], st + n / rate)
    if "gaps" in group:
        gaps = group["gaps"][()]
        if gaps.ndim != 2 or (gaps.size and gaps.shape[1] != 2):
            problems.append(f"{where}/gaps: must be (G, 2), got {gaps.shape}")
        elif gaps.size and np.any(gaps[:, 1] <= gaps[:, 0]):
            problems.append(f"{where}/gaps: every interval needs start < end")
    if data.dtype.kind == "f" and n:
        step = max(1, _SCAN_BYTES // max(1, data.dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))))
        for i in range(0, n, step):
            if not np.all(np.isfinite(data[i : i + step])):
                problems.append(f"{where}/data: contains NaN/inf (first in samples {i}..{min(n, i + step) - 1})")
                break


def validate(path: str | os.PathLike) -> list[str]:
    """Every schema violation of the recording at ``path`` as one line each ([] = valid)."""
    path = Path(path)
    if not path.is_file():
        return [f"{path}: no such file"]
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        return [f"{path}: not a readable HDF5 file ({err})"]
    problems: list[str] = []
    with h5:
        attrs = h5.attrs
        for key in ROOT_ATTRS:
            if key not in attrs:
                problems.append(f"/: missing attribute {key!r}")
        if "format" in attrs and _str(attrs["format"]) != FORMAT:
            problems.append(f"/: format is {_str(attrs['format'])!r}, expected {FORMAT!r}")
        if "format_version" in attrs and int(attrs["format_version"]) != FORMAT_VERSION:
            problems.append(f"/: format_version {attrs['format_version']} is not supported (expected {FORMAT_VERSION})")
        span = [np.inf, -np.inf]
        if "streams" not in h5:
            problems.append("/streams: missing group")
        else:
            for name, group in h5["streams"].items():
                if not isinstance(group, h5py.Group):
                    problems.append(f"/streams/{name}: must be a group")
                    continue
                _check_stream(name, group, problems, span)
        labels = h5.get("labels")
        if labels is not None:
            allowed = {
                "phases": set(_str(v) for v in labels.attrs.get("phase_names", DEFAULT_TAXONOMY.phases)),
                "defects": set(_str(v) for v in labels.attrs.get("defect_names", DEFAULT_TAXONOMY.defects)),
            }
            for table in LABEL_TABLES:
                if table not in labels:
                    continue
                arr = labels[table][()]
                if arr.dtype.names is None or not {"start_s", "end_s", "label"} <= set(arr.dtype.names):
                    problems.append(f"/labels/{table}: must have fields start_s, end_s, label")
                    continue
                for i, row in enumerate(arr):
                    label = _str(row["label"])
                    s, e = float(row["start_s"]), float(row["end_s"])
                    if label not in allowed[table]:
                        problems.append(f"/labels/{table}[{i}]: unknown label {label!r}")
                    if not e > s:
                        problems.append(f"/labels/{table}[{i}]: end_s {e} <= start_s {s}")
                    if np.isfinite(span[0]) and (
                        s < span[0] - LABEL_SPAN_TOLERANCE_S or e > span[1] + LABEL_SPAN_TOLERANCE_S
                    ):
                        problems.append(
                            f"/labels/{table}[{i}]: [{s:.4f}, {e:.4f}) s lies outside the recording "
                            f"[{span[0]:.4f}, {span[1]:.4f}) s"
                        )
    return problems
