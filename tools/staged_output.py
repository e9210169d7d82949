"""Write a tool's output files into a hidden staging folder, then move them into place together.

Every report-writing tool (evaluate, ablate, compare, transfer, the SVM baseline) uses
:func:`staged_output`, so a failure half-way (a plot that cannot be drawn, a full disk, Ctrl-C)
leaves the output folder as it was: no half-written report next to an old ``metrics.json``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_output(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder next to ``out``; on normal exit move its entries into ``out``.

    ``out`` is created when missing; entries of the same name already in ``out`` are replaced
    (folders as a whole), other files in ``out`` are kept. On an exception nothing is moved and
    the staging folder is removed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.tmp") as tmp:
        stage = Path(tmp)
        yield stage
        out.mkdir(exist_ok=True)
        for f in stage.iterdir():
            target = out / f.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            shutil.move(str(f), target)
