r"""Phase / defect labels as people have them, read into intervals on the recording clock.

Formats (``labels.phases`` / ``labels.defects`` of the manifest: a path, or a mapping with
``path``, ``format``, ``unit``, ``tier``, ``stream``; the format follows the extension unless given):

- ``csv`` (``.csv``): header ``start_s,end_s,label`` (or ``start,end,label`` with a ``unit``);
- ``audacity`` (``.txt``): an Audacity label track export — tab-separated ``start end label``
  per line, no header, seconds; the spectral lines Audacity writes for frequency ranges
  (lines starting with a backslash) are skipped;
- ``labelstudio`` (``.json``): a Label Studio JSON export: tasks whose ``annotations[].result[]``
  hold ``value.start`` / ``value.end`` with ``timeserieslabels`` or ``labels`` (seconds: audio
  and time-series labelling), or ``value.ranges`` with ``timelinelabels`` (video frames);
- ``elan`` (``.eaf``): an ELAN annotation file — the time-aligned annotations of the tier named by
  ``tier`` (default: a tier named like the table, ``phases``/``defects``, else every tier), times
  from its ``TIME_ORDER`` in ms.

Units (``unit``): ``s`` (default), ``ms``, ``frames`` (frame numbers of ``stream``, default
``video``: converted with that stream's frame times), ``mm`` (positions along the seam from arc
ignition, as radiography / ultrasonic reports give them: converted with the recording's
travel speed, ``sensors/electrical/seam.py``). Every row is checked — numbers, ``end > start``, a
label of the taxonomy, inside the recording — and a bad row is one line naming the file and row.
"""

from __future__ import annotations

import csv
import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
from weldfusion.datasets.validate import LABEL_SPAN_TOLERANCE_S
from weldfusion.recipes.errors import MissingInput
from weldfusion.recipes.taxonomy import LabelInterval, Taxonomy
from weldfusion.sensors.raw_source import IngestError

COLUMNS = ("start_s", "end_s", "label")
FORMATS = ("csv", "audacity", "labelstudio", "elan")
UNITS = ("s", "ms", "frames", "mm")
EXTENSIONS = {".csv": "csv", ".txt": "audacity", ".json": "labelstudio", ".eaf": "elan"}
#: Largest label file read (bytes): label files are small; anything bigger is not one.
MAX_BYTES = 64 << 20

Row = tuple[float, float, str, str]  # start, end (file units), label, where (line / item for messages)


def label_format(path: Path, given: str | None) -> str:
    """The format of a label file: ``given``, else from its extension."""
    fmt = given or EXTENSIONS.get(path.suffix.lower())
    if fmt not in FORMATS:
        raise IngestError(f"{path}: cannot tell the label format from {path.suffix!r}; give format "
                          f"(one of {', '.join(FORMATS)})")
    return fmt


def _csv_rows(path: Path, unit: str) -> list[Row]:
    rows = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = tuple(h.strip() for h in next(reader, []))
        want = COLUMNS if unit == "s" else ("start", "end", "label")
        if header != want and header != COLUMNS:
            # the file's own first line is not echoed: a manifest may point at any file
            missing = [c for c in want if c not in header]
            got = f"{len(header)} columns without {', '.join(missing)}" if header else "an empty file"
            raise IngestError(f"{path}: header must be {','.join(want)}; the first line has {got}")
        for line, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise IngestError(f"{path}: line {line}: expected 3 values, got {len(row)}")
            rows.append((row[0], row[1], row[2].strip(), f"line {line}"))
    return rows


def _audacity_rows(path: Path) -> list[Row]:
    rows = []
    for line, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip() or text.startswith("\\"):
            continue
        parts = text.split("\t")
        if len(parts) < 3:
            raise IngestError(f"{path}: line {line}: expected start<TAB>end<TAB>label (an Audacity label track)")
        rows.append((parts[0], parts[1], "\t".join(parts[2:]).strip(), f"line {line}"))
    return rows


def _labelstudio_rows(path: Path) -> list[Row]:
    try:
        tasks = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise IngestError(f"{path}: not valid JSON ({err})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise IngestError(f"{path}: a Label Studio export is a list of tasks")
    rows = []
    for t, task in enumerate(tasks):
        anns = task.get("annotations", []) if isinstance(task, dict) else None
        if not isinstance(anns, list):
            raise IngestError(f"{path}: task {t}: no annotations list (not a Label Studio JSON export)")
        for a, ann in enumerate(anns):
            for r, res in enumerate(ann.get("result", []) if isinstance(ann, dict) else []):
                value = res.get("value", {}) if isinstance(res, dict) else {}
                where = f"task {t} annotation {a} result {r}"
                names = value.get("timeserieslabels") or value.get("labels") or value.get("timelinelabels")
                if not names:
                    continue  # other kinds of result (text, choices) carry no interval
                if "ranges" in value:
                    spans = [(g.get("start"), g.get("end")) for g in value["ranges"]]
                else:
                    spans = [(value.get("start"), value.get("end"))]
                for start, end in spans:
                    for name in names:
                        rows.append((start, end, str(name), where))
    return rows


def _elan_rows(path: Path, tier: str | None, table: str) -> list[Row]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise IngestError(f"{path}: not an ELAN .eaf file ({err})") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise IngestError(f"{path}: not an ELAN .eaf file (root element {root.tag!r})")
    slots = {s.get("TIME_SLOT_ID"): s.get("TIME_VALUE") for s in root.iter("TIME_SLOT")}
    tiers = root.findall("TIER")
    names = [t.get("TIER_ID") for t in tiers]
    pick = tier if tier is not None else (table if table in names else None)
    if pick is not None and pick not in names:
        raise IngestError(f"{path}: no tier {pick!r} (tiers: {', '.join(n or '?' for n in names)})")
    rows = []
    for t in tiers:
        if pick is not None and t.get("TIER_ID") != pick:
            continue
        for ann in t.iter("ALIGNABLE_ANNOTATION"):
            a, b = slots.get(ann.get("TIME_SLOT_REF1")), slots.get(ann.get("TIME_SLOT_REF2"))
            if a is None or b is None:
                raise IngestError(f"{path}: annotation {ann.get('ANNOTATION_ID')}: unaligned time slot")
            text = ann.findtext("ANNOTATION_VALUE", default="").strip()
            rows.append((a, b, text, f"annotation {ann.get('ANNOTATION_ID')}"))
    return rows


def read_label_rows(path: Path, fmt: str, unit: str, table: str, tier: str | None = None) -> list[Row]:
    """The raw rows of a label file in its own units (no checks beyond the file's structure)."""
    if fmt == "csv":
        return _csv_rows(path, unit)
    if fmt == "audacity":
        return _audacity_rows(path)
    if fmt == "labelstudio":
        return _labelstudio_rows(path)
    return _elan_rows(path, tier, table)


def read_labels(
    path: str | os.PathLike,
    table: str,
    taxonomy: Taxonomy,
    span: tuple[float, float] | None = None,
    tolerance_s: float = LABEL_SPAN_TOLERANCE_S,
    *,
    fmt: str | None = None,
    unit: str = "s",
    tier: str | None = None,
    to_seconds: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[LabelInterval]:
    """Rows of a label file (see the module docstring), checked, as intervals in seconds.

    Args:
        table: ``phases`` or ``defects`` (which taxonomy list the labels must come from).
        span: (start, end) of the recording in seconds; rows outside it (beyond ``tolerance_s``)
            are an error.
        fmt, unit, tier: the file's format (default: from the extension), units and ELAN tier.
        to_seconds: for ``unit`` ``frames`` / ``mm``: maps an array of values to recording times.
    """
    path = Path(path)
    if table not in ("phases", "defects"):
        raise ValueError(f"label table must be 'phases' or 'defects', got {table!r}")
    if unit not in UNITS:
        raise IngestError(f"{path}: unit must be one of {', '.join(UNITS)}, got {unit!r}")
    allowed = taxonomy.phases if table == "phases" else taxonomy.defects
    if not path.is_file():
        raise MissingInput(f"{path}: no such label file")
    if path.stat().st_size > MAX_BYTES:
        raise IngestError(f"{path}: {path.stat().st_size} bytes is too large for a label file")
    fmt = label_format(path, fmt)
    if unit == "s" and fmt == "elan":
        unit = "ms"  # ELAN time slots are milliseconds
    if unit in ("frames", "mm") and to_seconds is None:
        raise IngestError(f"{path}: labels in {unit} need a recording to convert them")
    try:
        raw = read_label_rows(path, fmt, unit, table, tier)
    except UnicodeDecodeError:
        raise IngestError(f"{path}: not a text (UTF-8) file") from None
    except csv.Error as err:
        raise IngestError(f"{path}: malformed CSV ({err})") from None
    values = []
    for start, end, label, where in raw:
        try:
            a, b = float(start), float(end)
        except (TypeError, ValueError):
            raise IngestError(f"{path}: {where}: start/end must be numbers, got {[start, end]}") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise IngestError(f"{path}: {where}: start/end must be finite")
        if not b > a:
            raise IngestError(f"{path}: {where}: end {b:g} <= start {a:g}")
        if label not in allowed:
            raise IngestError(f"{path}: {where}: unknown {table[:-1]} label {label!r} (allowed: {', '.join(allowed)})")
        values.append((a, b, label, where))
    if not values:
        return []
    ab = np.array([(a, b) for a, b, _, _ in values], dtype=np.float64)
    if unit == "ms":
        ab = ab / 1000.0
    elif unit in ("frames", "mm"):
        ab = to_seconds(ab.ravel()).reshape(ab.shape)
    rows: list[LabelInterval] = []
    for (start, end), (_, _, label, where) in zip(ab, values, strict=True):
        if not end > start:
            raise IngestError(f"{path}: {where}: [{start:g}, {end:g}) s is empty once converted from {unit}")
        if span is not None and (start < span[0] - tolerance_s or end > span[1] + tolerance_s):
            raise IngestError(f"{path}: {where}: [{start:g}, {end:g}) s lies outside the recording "
                              f"[{span[0]:.4f}, {span[1]:.4f}) s")
        rows.append(LabelInterval(float(start), float(end), label))
    return rows


def write_labels(path: str | os.PathLike, rows: list[LabelInterval]) -> None:
    """Write ``start_s,end_s,label`` rows (times with 9 decimals: nanosecond resolution)."""
    with Path(path).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([f"{row.start_s:.9f}", f"{row.end_s:.9f}", row.label])
