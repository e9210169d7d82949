"""Validator: every schema violation of a recording file (an empty list means valid).

Two depths, one set of rules:

- :func:`structural_problems` checks what every reader relies on — root attributes, stream
  shapes, rates, clocks, timestamps, gaps, label tables — reading attributes and the small
  timestamp/gap/label arrays only (no sample data). :class:`~weldfusion.datasets.reader.Recording`
  runs it when a file is opened, so ``train``/``evaluate``/``predict``/``stream``/``ablate`` refuse
  a broken file with one line instead of computing on it.
- :func:`check` adds a scan of the samples: NaN/inf (a problem: recordings written by weldfusion
  are finite; readers treat non-finite samples as missing, see ``datasets/assembly.py``), values
  that are physically impossible (a problem: temperatures below absolute zero) and values that
  are implausible (a *warning*: above the materials' boiling points, currents/voltages outside
  the process's range, streams whose spans disagree by more than :data:`SPAN_TOLERANCE_S`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from weldfusion.datasets.schema import FORMAT, FORMAT_VERSION, LABEL_TABLES, ROOT_ATTRS
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, MATERIAL_PAIRS, PROCESSES
from weldfusion.sensors.limits import MAX_CLOCK_S, MAX_FRAME_SIDE, MAX_RATE_HZ, MAX_SPAN_S, MIN_RATE_HZ
from weldfusion.sensors.materials import boiling_point_c
from weldfusion.sensors.registry import modalities

#: Labels may stick out of the recorded span by this much (seconds) before it is an error.
LABEL_SPAN_TOLERANCE_S = 1e-3
#: A stream whose span differs from the recording's by more than this (seconds), or by more than
#: SPAN_TOLERANCE_SHARE of the recording, whichever is larger, is reported as implausible (a
#: warning: sensors may start late, but rarely by more; a wrong ``rate`` shrinks a stream a lot).
SPAN_TOLERANCE_S = 0.5
SPAN_TOLERANCE_SHARE = 0.1
#: Gap edges may lie this far outside their stream's span (seconds).
GAP_SPAN_TOLERANCE_S = 1e-3
#: Absolute zero, degC: a temperature below it is impossible.
ABSOLUTE_ZERO_C = -273.15
_SCAN_BYTES = 64 << 20


@dataclass
class Findings:
    """Problems (the file breaks the format or physics) and warnings (implausible values);
    ``sound``: the structure is fine (no structural problem), so readers can open the file."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sound: bool = False


@dataclass
class _Structure:
    """Outcome of the structural pass: its problems, the spans of the streams with a valid clock,
    and the streams without a problem of their own (those the sample scan reads)."""

    problems: list[str]
    spans: dict[str, tuple[float, float]]
    sound: list[str]


def _str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _show(value) -> str:
    """An attribute value as the user wrote it (no numpy type names)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return repr(value)


def _number(value) -> float | None:
    """``value`` as a float if it is one real number (not bool, not a string), else None."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        return None
    return float(arr.reshape(()))


def _stream_span(name: str, group: h5py.Group, problems: list[str]) -> tuple[float, float] | None:
    """Check the stream's clock (rate, starting_time or timestamps); its (t_start, t_end) if valid."""
    where = f"/streams/{name}"
    attrs = group.attrs
    n = group["data"].shape[0] if group["data"].shape else 0
    rate = None
    if "rate" in attrs:
        rate = _number(attrs["rate"])
        if rate is None or not (MIN_RATE_HZ <= rate <= MAX_RATE_HZ):
            problems.append(f"{where}: rate must be a number in [{MIN_RATE_HZ:g}, {MAX_RATE_HZ:g}] Hz, "
                            f"got {_show(attrs['rate'])}")
            return None
    if "timestamps" in group:
        if "starting_time" in attrs:
            problems.append(f"{where}: has both 'timestamps' and attribute 'starting_time'")
            return None
        tsd = group["timestamps"]
        if not isinstance(tsd, h5py.Dataset) or tsd.shape != (n,) or tsd.dtype.kind not in "iuf":
            shape = tsd.shape if isinstance(tsd, h5py.Dataset) else "a group"
            problems.append(f"{where}/timestamps: must be ({n},) numbers, got {shape}")
            return None
        ts = tsd[()].astype(np.float64)
        if not np.all(np.isfinite(ts)):
            problems.append(f"{where}/timestamps: contains NaN/inf")
            return None
        if np.any(np.diff(ts) <= 0):
            problems.append(f"{where}/timestamps: not strictly increasing")
            return None
        if np.any(np.abs(ts[[0, -1]]) > MAX_CLOCK_S):
            problems.append(f"{where}/timestamps: times beyond +-{MAX_CLOCK_S:g} s on the recording clock")
            return None
        period = 1.0 / rate if rate else (float(np.median(np.diff(ts))) if n > 1 else 0.0)
        return float(ts[0]), float(ts[-1]) + period
    if "starting_time" not in attrs:
        problems.append(f"{where}: needs 'timestamps' or attributes 'starting_time' + 'rate'")
        return None
    if rate is None:
        problems.append(f"{where}: regular stream without attribute 'rate'")
        return None
    st = _number(attrs["starting_time"])
    if st is None or not math.isfinite(st) or abs(st) > MAX_CLOCK_S:
        problems.append(f"{where}: starting_time must be a finite number within +-{MAX_CLOCK_S:g} s, "
                        f"got {_show(attrs['starting_time'])}")
        return None
    return st, st + n / rate


def _check_stream(name: str, group: h5py.Group, problems: list[str]) -> tuple[float, float] | None:
    """Structural checks of one stream; its span if it has a valid clock."""
    where = f"/streams/{name}"
    mods = modalities()
    if name not in mods:
        problems.append(f"{where}: unknown modality {name!r} (known: {', '.join(mods)})")
        return None
    kind = mods[name].kind
    if "data" not in group or not isinstance(group["data"], h5py.Dataset):
        problems.append(f"{where}: missing dataset 'data'")
        return None
    data = group["data"]
    shape = data.shape
    if data.dtype.kind not in "iuf":
        problems.append(f"{where}/data: samples must be numbers, got dtype {data.dtype}")
        return None
    if not shape or shape[0] == 0:
        problems.append(f"{where}/data: stream has no samples")
        return None
    if kind == "image":
        if not (len(shape) == 3 or (len(shape) == 4 and shape[3] == 3)):
            problems.append(f"{where}/data: image stream must be (N, H, W) or (N, H, W, 3), got {shape}")
            return None
        if not (1 <= min(shape[1:3]) and max(shape[1:3]) <= MAX_FRAME_SIDE):
            problems.append(f"{where}/data: frame size {shape[1]}x{shape[2]} outside 1..{MAX_FRAME_SIDE} px")
            return None
    if kind == "signal" and (len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] < 1)):
        problems.append(f"{where}/data: signal stream must be (N,) or (N, C), got {shape}")
        return None
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
    span = _stream_span(name, group, problems)
    if "gaps" in group:
        gd = group["gaps"]
        if not isinstance(gd, h5py.Dataset) or gd.dtype.kind not in "iuf" or gd.ndim != 2 or (
                gd.size and gd.shape[1] != 2):
            problems.append(f"{where}/gaps: must be (G, 2) numbers, got {getattr(gd, 'shape', 'a group')}")
        elif gd.size:
            gaps = gd[()].astype(np.float64)
            if not np.all(np.isfinite(gaps)):
                problems.append(f"{where}/gaps: contains NaN/inf")
            elif np.any(gaps[:, 1] <= gaps[:, 0]):
                problems.append(f"{where}/gaps: every interval needs start < end")
            elif span is not None and (gaps.min() < span[0] - GAP_SPAN_TOLERANCE_S
                                       or gaps.max() > span[1] + GAP_SPAN_TOLERANCE_S):
                problems.append(f"{where}/gaps: intervals outside the stream's span "
                                f"[{span[0]:.4f}, {span[1]:.4f}) s")
    return span


def _check_labels(labels: h5py.Group, span: tuple[float, float] | None, problems: list[str]) -> None:
    allowed = {
        "phases": set(_str(v) for v in np.atleast_1d(labels.attrs.get("phase_names", DEFAULT_TAXONOMY.phases))),
        "defects": set(_str(v) for v in np.atleast_1d(labels.attrs.get("defect_names", DEFAULT_TAXONOMY.defects))),
    }
    for table in LABEL_TABLES:
        if table not in labels:
            continue
        ds = labels[table]
        names = ds.dtype.names if isinstance(ds, h5py.Dataset) else None
        if (names is None or not {"start_s", "end_s", "label"} <= set(names) or ds.ndim != 1
                or ds.dtype["start_s"].kind != "f" or ds.dtype["end_s"].kind != "f"
                or ds.dtype["label"].kind not in "OSU"):
            problems.append(f"/labels/{table}: must be a table of (start_s float, end_s float, label string)")
            continue
        for i, row in enumerate(ds[()]):
            label = _str(row["label"])
            s, e = float(row["start_s"]), float(row["end_s"])
            if label not in allowed[table]:
                problems.append(f"/labels/{table}[{i}]: unknown label {label!r}")
            if not (math.isfinite(s) and math.isfinite(e) and e > s):
                problems.append(f"/labels/{table}[{i}]: needs finite start_s < end_s, got [{s}, {e})")
            elif span is not None and (
                s < span[0] - LABEL_SPAN_TOLERANCE_S or e > span[1] + LABEL_SPAN_TOLERANCE_S
            ):
                problems.append(
                    f"/labels/{table}[{i}]: [{s:.4f}, {e:.4f}) s lies outside the recording "
                    f"[{span[0]:.4f}, {span[1]:.4f}) s"
                )


def structural_problems(h5: h5py.File) -> list[str]:
    """Everything a reader relies on, without reading samples: one line per problem ([] = sound)."""
    return _structure(h5).problems


def _structure(h5: h5py.File) -> _Structure:
    problems: list[str] = []
    attrs = h5.attrs
    for key in ROOT_ATTRS:
        if key not in attrs:
            problems.append(f"/: missing attribute {key!r}")
    if "format" in attrs and _str(attrs["format"]) != FORMAT:
        problems.append(f"/: format is {_str(attrs['format'])!r}, expected {FORMAT!r}")
    if "format_version" in attrs and _number(attrs["format_version"]) != FORMAT_VERSION:
        problems.append(f"/: format_version {_show(attrs['format_version'])} is not supported (expected {FORMAT_VERSION})")
    spans: dict[str, tuple[float, float]] = {}
    sound: list[str] = []
    streams = h5.get("streams")
    if not isinstance(streams, h5py.Group):
        problems.append("/streams: missing group")
    else:
        for name, group in streams.items():
            if not isinstance(group, h5py.Group):
                problems.append(f"/streams/{name}: must be a group")
                continue
            before = len(problems)
            span = _check_stream(name, group, problems)
            if span is not None:
                spans[name] = span
                if len(problems) == before:
                    sound.append(name)
    span = None
    if spans:
        span = (min(s[0] for s in spans.values()), max(s[1] for s in spans.values()))
        if span[1] - span[0] > MAX_SPAN_S:
            starts = ", ".join(f"{n} {s[0]:.6g}-{s[1]:.6g} s" for n, s in spans.items())
            problems.append(f"/streams: the streams span {span[1] - span[0]:.6g} s (more than "
                            f"{MAX_SPAN_S:g} s: not one clock): {starts}")
    labels = h5.get("labels")
    if isinstance(labels, h5py.Group):
        _check_labels(labels, span, problems)
    elif labels is not None:
        problems.append("/labels: must be a group")
    truth = h5.get("truth")
    for camera in ("video", "thermal"):
        if isinstance(truth, h5py.Group) and f"{camera}_boxes" in truth:
            _check_boxes(truth, camera, streams.get(camera) if isinstance(streams, h5py.Group) else None, problems)
    if isinstance(truth, h5py.Group) and "video_motion" in truth:
        _check_motion(truth["video_motion"], streams.get("video") if isinstance(streams, h5py.Group) else None, problems)
    return _Structure(problems, spans, sound)


#: Most ground-truth boxes a recording may hold (bounds the read of ``/truth/video_boxes``).
MAX_TRUTH_BOXES = 50_000_000


def _check_motion(ds, video, problems: list[str]) -> None:
    """``/truth/video_motion``: one packed bit per video pixel, (N, H, ceil(W / 8)) uint8."""
    data = video.get("data") if isinstance(video, h5py.Group) else None
    if not isinstance(data, h5py.Dataset) or data.ndim < 3:
        problems.append("/truth/video_motion: motion truth without a /streams/video stream of frames")
        return
    n, h, w = data.shape[:3]
    want = (n, h, -(-w // 8))
    if not isinstance(ds, h5py.Dataset) or ds.dtype != np.uint8 or ds.shape != want:
        got = f"{ds.shape} {ds.dtype}" if isinstance(ds, h5py.Dataset) else "not a dataset"
        problems.append(f"/truth/video_motion: must be {want} uint8 (one bit per video pixel, packed along rows), got {got}")


def _check_boxes(truth: h5py.Group, camera: str, video, problems: list[str]) -> None:
    """``/truth/<camera>_boxes`` (K, 6) ``[frame, class, x0, y0, x1, y1]``: frames of that
    camera's stream, classes of ``box_classes``, boxes of at least a pixel inside the frame."""
    where = f"/truth/{camera}_boxes"
    ds = truth[f"{camera}_boxes"]
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[1] != 6 or ds.dtype.kind != "f":
        problems.append(f"{where}: must be a (K, 6) float dataset [frame, class, x0, y0, x1, y1]")
        return
    if ds.shape[0] > MAX_TRUTH_BOXES:
        problems.append(f"{where}: {ds.shape[0]} boxes (at most {MAX_TRUTH_BOXES})")
        return
    classes = truth.attrs.get("box_classes")
    if classes is None or len(classes) == 0:
        problems.append("/truth: missing attribute 'box_classes' (the box class names)")
        return
    data = video.get("data") if isinstance(video, h5py.Group) else None
    if not isinstance(data, h5py.Dataset) or data.ndim < 3:
        problems.append(f"{where}: boxes without a /streams/{camera} stream of frames")
        return
    boxes = ds[()]
    n, h, w = data.shape[0], data.shape[1], data.shape[2]
    frame, cls, x0, y0, x1, y1 = boxes.T
    checks = (("a frame index that is not a video frame", ~np.isfinite(frame) | (frame < 0) | (frame >= n) | (frame % 1 != 0)),
              (f"a class index outside box_classes (0..{len(classes) - 1})",
               ~np.isfinite(cls) | (cls < 0) | (cls >= len(classes)) | (cls % 1 != 0)),
              (f"a box outside the {w}x{h} frame or under a pixel",
               ~(np.isfinite(boxes[:, 2:]).all(axis=1) & (x0 >= 0) & (y0 >= 0) & (x1 <= w) & (y1 <= h)
                 & (x1 - x0 >= 1) & (y1 - y0 >= 1))))
    for what, bad in checks:
        if bad.any():
            problems.append(f"{where}: row {int(np.flatnonzero(bad)[0])} has {what}")


def _scan(group: h5py.Group):
    """Blocks of a stream's samples as float64 (n, C) arrays, at most ~64 MiB each."""
    data = group["data"]
    n = data.shape[0]
    per = int(np.prod(data.shape[1:], dtype=np.int64)) * data.dtype.itemsize
    step = max(1, _SCAN_BYTES // max(1, per))
    for i in range(0, n, step):
        block = data[i: i + step]
        yield i, block.reshape(block.shape[0], -1) if block.ndim > 1 else block[:, None]


def _sample_findings(h5: h5py.File, sound: Sequence[str], findings: Findings) -> None:
    """NaN/inf, impossible and implausible values of the structurally ``sound`` streams (reads all samples)."""
    mods = modalities()
    meta = {k: _str(h5.attrs[k]) for k in ("material_a", "material_b", "process") if k in h5.attrs}
    for name in sound:
        group = h5["streams"][name]
        where = f"/streams/{name}"
        mod = mods[name]
        image = mod.kind == "image"
        channels = [_str(c) for c in np.atleast_1d(group.attrs.get("channel_names", []))] or [name]
        ranges = mod.plausible_range(meta.get("process", ""))
        same_units = _str(group.attrs.get("units", "")) == mod.units
        if group["data"].dtype.kind != "f" and not ranges:
            continue  # integer samples (camera frames) hold no NaN and have no plausible range: nothing to read
        lo = hi = None
        nonfinite = None
        for i, block in _scan(group):
            if group["data"].dtype.kind == "f":
                bad = ~np.isfinite(block)
                if bad.any() and nonfinite is None:
                    nonfinite = i + int(np.argmax(bad.any(axis=1)))
                block = np.where(bad, np.nan, block)
            if image:
                block = block.reshape(-1, 1)
            with np.errstate(all="ignore"):
                b_lo, b_hi = np.nanmin(block, axis=0), np.nanmax(block, axis=0)
            lo = b_lo if lo is None else np.fmin(lo, b_lo)
            hi = b_hi if hi is None else np.fmax(hi, b_hi)
        if nonfinite is not None:
            findings.problems.append(f"{where}/data: contains NaN/inf (first at sample {nonfinite})")
        if lo is None:
            continue
        if image:
            channels = [name]
        if name == "thermal" and _str(group.attrs.get("units", "")) == "degC":
            if lo[0] < ABSOLUTE_ZERO_C:
                findings.problems.append(f"{where}/data: {lo[0]:.1f} degC is below absolute zero")
            ceiling = max(boiling_point_c(meta.get("material_a")), boiling_point_c(meta.get("material_b")))
            if hi[0] > ceiling:
                findings.warnings.append(f"{where}/data: {hi[0]:.0f} degC is above the materials' boiling "
                                         f"points ({ceiling:.0f} degC)")
        for c, channel in enumerate(channels):
            rng = ranges.get(channel, ranges.get(name) if same_units else None)
            if rng is not None and c < len(lo) and np.isfinite(lo[c]):
                r_lo, r_hi = rng
                if lo[c] < r_lo or hi[c] > r_hi:
                    findings.warnings.append(
                        f"{where}: {channel} spans [{lo[c]:.4g}, {hi[c]:.4g}], outside the plausible "
                        f"[{r_lo:g}, {r_hi:g}] for {meta.get('process', 'this process')}")


def _span_warnings(spans: dict[str, tuple[float, float]], findings: Findings) -> None:
    if len(spans) < 2:
        return
    t0, t1 = min(s[0] for s in spans.values()), max(s[1] for s in spans.values())
    tolerance = max(SPAN_TOLERANCE_S, SPAN_TOLERANCE_SHARE * (t1 - t0))
    for name, (s0, s1) in spans.items():
        if s0 - t0 > tolerance or t1 - s1 > tolerance:
            findings.warnings.append(f"/streams/{name}: covers [{s0:.3f}, {s1:.3f}) s of the recording's "
                                     f"[{t0:.3f}, {t1:.3f}) s (spans disagree by more than {tolerance:.3g} s)")


def _meta_warnings(h5: h5py.File, findings: Findings) -> None:
    """Material pair or process outside the toolkit's defaults (implausible, not impossible)."""
    pair, process = _str(h5.attrs.get("material_pair", "")), _str(h5.attrs.get("process", ""))
    if pair not in MATERIAL_PAIRS:
        findings.warnings.append(f"/: material_pair {pair!r} is not a default pair ({', '.join(MATERIAL_PAIRS)}); "
                                 "a recipe must list it in data.pairs (or `weldfusion transfer` to it)")
    if process not in PROCESSES:
        findings.warnings.append(f"/: process {process!r} is not one the toolkit knows ({', '.join(PROCESSES)})")


def check(path: str | os.PathLike) -> Findings:
    """Problems and warnings of the recording at ``path`` (structure, then every sample)."""
    path = Path(path)
    if not path.is_file():
        return Findings([f"{path}: no such file"])
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        return Findings([f"{path}: not a readable HDF5 file ({err})"])
    findings = Findings()
    with h5:
        structure = _structure(h5)
        findings.problems = list(structure.problems)
        findings.sound = not structure.problems
        _sample_findings(h5, structure.sound, findings)
        if not findings.problems:
            _span_warnings(structure.spans, findings)
            _meta_warnings(h5, findings)
    return findings


def validate(path: str | os.PathLike) -> list[str]:
    """Every schema violation of the recording at ``path`` as one line each ([] = valid)."""
    return check(path).problems
