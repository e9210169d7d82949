"""Phase / defect label CSVs: ``start_s,end_s,label`` rows on the recording clock.

Reading checks every row: numbers, ``end_s > start_s``, a label of the taxonomy, and (given the
recording's span) an interval inside the recording, so a bad row is a one-line error naming the
file and the CSV line.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from weldfusion.datasets.validate import LABEL_SPAN_TOLERANCE_S
from weldfusion.recipes.errors import MissingInput
from weldfusion.recipes.taxonomy import LabelInterval, Taxonomy
from weldfusion.sensors.raw_source import IngestError

COLUMNS = ("start_s", "end_s", "label")


def read_labels(
    path: str | os.PathLike,
    table: str,
    taxonomy: Taxonomy,
    span: tuple[float, float] | None = None,
    tolerance_s: float = LABEL_SPAN_TOLERANCE_S,
) -> list[LabelInterval]:
    """Rows of a label CSV, checked.

    Args:
        table: ``phases`` or ``defects`` (which taxonomy list the labels must come from).
        span: (start, end) of the recording in seconds; rows outside it (beyond ``tolerance_s``)
            are an error.
    """
    path = Path(path)
    if table not in ("phases", "defects"):
        raise ValueError(f"label table must be 'phases' or 'defects', got {table!r}")
    allowed = taxonomy.phases if table == "phases" else taxonomy.defects
    if not path.is_file():
        raise MissingInput(f"{path}: no such label file")
    rows: list[LabelInterval] = []
    try:
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if tuple(header) != COLUMNS:
                raise IngestError(f"{path}: header must be {','.join(COLUMNS)}, got {','.join(header) or '(empty)'}")
            for line, row in enumerate(reader, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != 3:
                    raise IngestError(f"{path}: line {line}: expected 3 values, got {len(row)}")
                try:
                    start, end = float(row[0]), float(row[1])
                except ValueError:
                    raise IngestError(f"{path}: line {line}: start_s/end_s must be numbers, got {row[:2]}") from None
                label = row[2].strip()
                if not (math.isfinite(start) and math.isfinite(end)):
                    raise IngestError(f"{path}: line {line}: start_s/end_s must be finite")
                if not end > start:
                    raise IngestError(f"{path}: line {line}: end_s {end} <= start_s {start}")
                if label not in allowed:
                    raise IngestError(f"{path}: line {line}: unknown {table[:-1]} label {label!r} "
                                      f"(allowed: {', '.join(allowed)})")
                if span is not None and (start < span[0] - tolerance_s or end > span[1] + tolerance_s):
                    raise IngestError(f"{path}: line {line}: [{start:g}, {end:g}) s lies outside the recording "
                                      f"[{span[0]:.4f}, {span[1]:.4f}) s")
                rows.append(LabelInterval(start, end, label))
    except UnicodeDecodeError:
        raise IngestError(f"{path}: not a text (UTF-8) CSV file") from None
    except csv.Error as err:
        raise IngestError(f"{path}: malformed CSV ({err})") from None
    return rows


def write_labels(path: str | os.PathLike, rows: list[LabelInterval]) -> None:
    """Write ``start_s,end_s,label`` rows (times with 9 decimals: nanosecond resolution)."""
    with Path(path).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([f"{row.start_s:.9f}", f"{row.end_s:.9f}", row.label])
