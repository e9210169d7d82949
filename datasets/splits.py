"""Recording sets: resolve a directory / glob / split-list file, filter, split by recording.

Splits are made over recordings, never over windows, so no recording contributes windows to two
splits (files sharing a ``recording_id`` count as one recording). Within the split, recordings
are stratified by material pair (round-robin over pairs after a seeded shuffle), so each split
sees every pair where the counts allow.

A split-list file is plain text: one recording path per line, relative to the list's folder (or
absolute); blank lines and ``#`` comments are skipped. :func:`save_splits` writes
``<split>.txt`` files of this form.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from weldfusion.datasets.config import DataConfig
from weldfusion.recipes.errors import InvalidInput, MissingInput, UnreadableInput
from weldfusion.recipes.files import atomic_write_text

H5_SUFFIXES = (".h5", ".hdf5")
LIST_SUFFIXES = (".txt", ".lst")
SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class RecordingEntry:
    """A recording file and the root attributes that splits and filters use."""

    path: Path
    recording_id: str
    material_pair: str
    process: str


def _str(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_split_list(path: str | os.PathLike) -> list[Path]:
    """Paths listed in a split-list file (relative entries resolved against its folder)."""
    path = Path(path)
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        entry = Path(line)
        entry = entry if entry.is_absolute() else path.parent / entry
        if not entry.is_file():
            raise MissingInput(f"{path}:{n}: listed recording {line} does not exist")
        out.append(entry)
    if not out:
        raise InvalidInput(f"{path}: split list names no recordings")
    return out


def resolve_files(spec: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Recording files named by ``spec``: a .h5 file, a directory (its ``*.h5``), a glob, a split
    list (.txt/.lst), or a sequence of these. Order is sorted per item; duplicates are dropped.

    Raises ``FileNotFoundError`` naming ``spec`` when it matches nothing.
    """
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise InvalidInput("no recordings given (empty list)")
        seen: dict[Path, None] = {}
        for item in spec:
            for p in resolve_files(item):
                seen.setdefault(p, None)
        return list(seen)
    text = os.fspath(spec)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for suf in H5_SUFFIXES for p in path.glob(f"*{suf}"))
        if not files:
            raise MissingInput(f"{path}: directory holds no .h5 recordings")
        return files
    if path.is_file():
        if path.suffix.lower() in LIST_SUFFIXES:
            return read_split_list(path)
        if path.suffix.lower() in H5_SUFFIXES:
            return [path]
        raise InvalidInput(f"{path}: not a recording (.h5) or split list (.txt)")
    if glob.has_magic(text):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise MissingInput(f"{text}: glob matched no files")
        return files
    raise MissingInput(f"{text}: no such file or directory")


def scan(files: Sequence[str | os.PathLike]) -> list[RecordingEntry]:
    """Root attributes of each file (metadata only; every handle is closed on return)."""
    out = []
    for f in files:
        f = Path(f)
        try:
            with h5py.File(f, "r") as h5:
                attrs = h5.attrs
                missing = [k for k in ("recording_id", "material_pair", "process") if k not in attrs]
                if missing:
                    raise InvalidInput(f"{f}: not a weldfusion recording (missing root attribute {missing[0]!r})")
                out.append(RecordingEntry(
                    f, _str(attrs["recording_id"]), _str(attrs["material_pair"]), _str(attrs["process"])
                ))
        except OSError as err:
            raise UnreadableInput(f"{f}: not a readable HDF5 file ({err})") from None
    return out


def filter_recordings(
    entries: Sequence[RecordingEntry], pairs: Sequence[str] | None = None, processes: Sequence[str] | None = None
) -> list[RecordingEntry]:
    """Entries whose material pair is in ``pairs`` and process in ``processes`` (``None`` = any)."""
    return [
        e for e in entries
        if (pairs is None or e.material_pair in pairs) and (processes is None or e.process in processes)
    ]


def _counts(n: int, shares: Sequence[float]) -> list[int]:
    """Largest-remainder split of n items; every split with a positive share gets one if train keeps one."""
    exact = [n * s for s in shares]
    counts = [math.floor(x) for x in exact]
    for i in sorted(range(len(shares)), key=lambda i: -(exact[i] - counts[i]))[: n - sum(counts)]:
        counts[i] += 1
    for i in range(1, len(shares)):
        if shares[i] > 0 and counts[i] == 0 and counts[0] > 1:
            counts[0] -= 1
            counts[i] += 1
    return counts


def split_recordings(
    entries: Sequence[RecordingEntry], shares: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0,
    names: Sequence[str] = SPLIT_NAMES,
) -> dict[str, list[RecordingEntry]]:
    """Split by recording (files with the same ``recording_id`` stay together), stratified by pair.

    Returns ``{name: entries}`` with entries sorted by path inside each split.
    """
    if len(shares) != len(names):
        raise ValueError(f"{len(shares)} shares for {len(names)} split names")
    by_id: dict[str, list[RecordingEntry]] = {}
    for e in entries:
        by_id.setdefault(e.recording_id, []).append(e)
    rng = np.random.default_rng(seed)
    per_pair: dict[str, list[str]] = {}
    for rid in sorted(by_id):
        per_pair.setdefault(by_id[rid][0].material_pair, []).append(rid)
    queues = {pair: [ids[i] for i in rng.permutation(len(ids))] for pair, ids in sorted(per_pair.items())}
    order: list[str] = []  # round-robin over pairs
    while any(queues.values()):
        for pair in list(queues):
            if queues[pair]:
                order.append(queues[pair].pop(0))
    counts = _counts(len(order), shares)
    out: dict[str, list[RecordingEntry]] = {}
    start = 0
    for name, count in zip(names, counts):
        ids = order[start : start + count]
        start += count
        out[name] = sorted((e for rid in ids for e in by_id[rid]), key=lambda e: str(e.path))
    return out


def check_disjoint(splits: dict[str, Sequence[RecordingEntry]]) -> None:
    """``ValueError`` if a recording id appears in two splits (leakage)."""
    owner: dict[str, str] = {}
    for name, entries in splits.items():
        for e in entries:
            other = owner.setdefault(e.recording_id, name)
            if other != name:
                raise InvalidInput(f"recording {e.recording_id!r} ({e.path}) is in both {other} and {name} splits")


def save_splits(splits: dict[str, Sequence[RecordingEntry | Path]], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``<out_dir>/<split>.txt`` lists (paths relative to ``out_dir`` where possible)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise MissingInput(f"{out_dir}: output directory does not exist")
    written = {}
    for name, entries in splits.items():
        lines = []
        for e in entries:
            p = Path(e.path if isinstance(e, RecordingEntry) else e).resolve()
            lines.append(os.path.relpath(p, out_dir.resolve()))
        target = out_dir / f"{name}.txt"
        atomic_write_text(target, f"# weldfusion split {name}: {len(lines)} recordings\n"
                          + "".join(f"{ln}\n" for ln in lines))
        written[name] = target
    return written


def build_splits(cfg: DataConfig, spec: str | os.PathLike | Sequence | None = None) -> dict[str, list[Path]]:
    """Resolve ``spec`` (or ``cfg.path``), filter by ``cfg.filter``, split by ``cfg.split``.

    Returns ``{"train": [...], "val": [...], "test": [...]}`` file lists.
    """
    spec = cfg.path if spec is None else spec
    if spec is None:
        raise InvalidInput("data.path is not set (a directory, glob or split-list file of recordings)")
    entries = scan(resolve_files(spec))
    kept = filter_recordings(entries, cfg.filter.pairs, cfg.filter.processes)
    if not kept:
        raise InvalidInput(
            f"{os.fspath(spec) if not isinstance(spec, (list, tuple)) else spec}: no recordings left after "
            f"filter pairs={cfg.filter.pairs} processes={cfg.filter.processes} "
            f"(have pairs {sorted({e.material_pair for e in entries})}, "
            f"processes {sorted({e.process for e in entries})})"
        )
    s = cfg.split
    splits = split_recordings(kept, (s.train, s.val, s.test), s.seed)
    check_disjoint(splits)
    return {name: [e.path for e in entries] for name, entries in splits.items()}
