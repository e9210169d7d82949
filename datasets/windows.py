"""The time-aligned windowed dataset: fixed-length multimodal windows cut from recordings.

Windows: for every recording, windows of ``window_s`` seconds start every ``hop_s`` seconds from
the start of the recording's span (earliest start to latest end over its streams and label
intervals); a window is kept when it fits inside the span. Each configured modality is resampled
onto the window (:mod:`weldfusion.datasets.resample`: sample ``k`` sits at
``t0 + k * window_s / length``).

Masks: a modality is present in a window unless it is disabled in the config, the recording has
no such stream, or more than ``gap_threshold`` of the window lies in the stream's gaps or outside
its samples. An absent modality is a zero tensor of the configured shape. Inside a present
modality, samples that fall into a gap (or outside the stream) are set to 0 after normalisation.

Labels: ``phase`` = the phase with the largest overlap with the window (ties: taxonomy order;
:data:`IGNORE_PHASE` when no phase interval overlaps); ``defects`` multi-hot with the overlap
rule of :class:`weldfusion.datasets.config.DataConfig` (``defect_overlap_threshold``).

Items follow the batch contract of :mod:`weldfusion.datasets.info` (one window, no batch axis),
so ``torch.utils.data.default_collate`` batches them. Building the index reads only metadata,
timestamps of irregular streams and labels; every file handle is closed before ``__init__``
returns and files are reopened lazily in each ``DataLoader`` worker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm
from weldfusion.datasets import electrical_features as elec
from weldfusion.datasets.config import DataConfig, ImageWindow, SignalWindow
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.datasets.normalize import NormStats, compute_norm_stats
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.datasets.resample import (
    bin_mean,
    bin_rms,
    nearest_indices,
    resample_signal,
    resize_frames,
    signal_margin_s,
    to_grey,
    window_grid,
)
from weldfusion.datasets.schema import LabelInterval
from weldfusion.datasets.splits import filter_recordings, resolve_files, scan
from weldfusion.datasets.window_sources import HDF5Source, MemorySource
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.registry import modalities as declared_modalities

#: ``phase`` of a window that no phase interval overlaps (``torch.nn.CrossEntropyLoss``'s default ignore_index).
IGNORE_PHASE = -100
_EPS = 1e-9


@dataclass(frozen=True)
class _Spec:
    """One configured modality inside a window."""

    name: str
    kind: str  # "image" | "signal"
    shape: tuple[int, ...]  # (T, H, W) | (C, S)
    channels: tuple[str, ...] = ()
    envelope: tuple[bool, ...] = ()  # signals: per channel, RMS envelope instead of waveform

    @property
    def length(self) -> int:
        return self.shape[0] if self.kind == "image" else self.shape[1]


@dataclass
class ModalityWindowData:
    """Un-normalised window of one present modality.

    ``data``: (T, H, W) float32 for images, (C, S) float32 for signals; ``valid``: (T,) / (S,) bool,
    False for samples in a gap or outside the stream.
    """

    data: np.ndarray
    valid: np.ndarray


@dataclass
class RawWindow:
    """A window before normalisation: ``modalities[name]`` is None when absent; ``params`` (4,) or None."""

    recording_id: str
    t0: float
    modalities: dict[str, ModalityWindowData | None]
    params: np.ndarray | None


@dataclass
class _RecordingEntry:
    source: HDF5Source | MemorySource
    recording_id: str
    material_pair: str
    process: str
    pair_index: int
    streams: dict[str, StreamInfo]
    columns: dict[str, list[int | None]]  # signals: stream column of each window channel (None -> zeros)

    @property
    def rec(self) -> Recording:
        return self.source.rec


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def window_starts(span: tuple[float, float], window_s: float, hop_s: float) -> np.ndarray:
    """Start times (N,) of the windows that fit in ``span``: ``span[0] + i * hop_s``."""
    length = span[1] - span[0]
    if length + _EPS < window_s:
        return np.zeros(0)
    n = int(np.floor((length - window_s) / hop_s + 1e-6)) + 1
    return np.round(span[0] + np.arange(n, dtype=np.float64) * hop_s, 9)  # 0.6, not 0.6000000000000001


def phase_labels(
    phases: Sequence[LabelInterval], t0: np.ndarray, window_s: float, names: Sequence[str]
) -> np.ndarray:
    """Majority phase (N,) int64 of windows starting at ``t0``; :data:`IGNORE_PHASE` when none overlaps."""
    overlap = np.zeros((len(t0), len(names)))
    for p in phases:
        k = names.index(p.label)
        overlap[:, k] += np.clip(np.minimum(t0 + window_s, p.end_s) - np.maximum(t0, p.start_s), 0.0, None)
    out = overlap.argmax(axis=1)  # first maximum -> ties go to taxonomy order
    out[overlap.max(axis=1, initial=0.0) <= _EPS] = IGNORE_PHASE
    return out.astype(np.int64)


def defect_labels(
    defects: Sequence[LabelInterval], t0: np.ndarray, window_s: float, names: Sequence[str], threshold: float
) -> np.ndarray:
    """Multi-hot (N, D) float32: defect ``d`` is positive when one of its (merged) intervals overlaps
    the window by ``>= threshold * min(window_s, interval length)``, or its intervals together cover
    ``>= threshold * window_s``."""
    out = np.zeros((len(t0), len(names)), dtype=np.float32)
    by_label: dict[str, list[tuple[float, float]]] = {}
    for d in defects:
        by_label.setdefault(d.label, []).append((d.start_s, d.end_s))
    for label, intervals in by_label.items():
        k = names.index(label)
        total = np.zeros(len(t0))
        hit = np.zeros(len(t0), dtype=bool)
        for a, b in _merge(intervals):
            ov = np.clip(np.minimum(t0 + window_s, b) - np.maximum(t0, a), 0.0, None)
            total += ov
            hit |= (ov > 0) & (ov >= threshold * min(window_s, b - a) - _EPS)
        hit |= (total > 0) & (total >= threshold * window_s - _EPS)
        out[hit, k] = 1.0
    return out


def _valid_mask(info: StreamInfo, grid: np.ndarray) -> np.ndarray:
    """(L,) bool: grid times inside the stream's samples and outside its gaps."""
    valid = (grid >= info.t_start - _EPS) & (grid < info.t_end - _EPS)
    for g0, g1 in info.gaps:
        valid &= ~((grid >= g0) & (grid < g1))
    return valid


# -- window assembly shared by the offline dataset and the live stream (tools/streaming) -------------
class StreamReader(Protocol):
    """Samples of one stream by absolute sample index: a recording file, or a live ring buffer.

    ``info`` describes the stream as far as it is known (``n``, ``t_end`` and ``gaps`` grow while a
    live stream is being received); ``rate`` is its nominal sample rate in Hz. Index semantics
    are those of :meth:`weldfusion.datasets.reader.Recording.index_range`.
    """

    info: StreamInfo
    rate: float

    def index_range(self, t0: float, t1: float) -> tuple[int, int]: ...

    def times(self, i0: int, i1: int) -> np.ndarray: ...

    def nearest_rows(self, grid: np.ndarray) -> np.ndarray: ...

    def read_slice(self, i0: int, i1: int) -> np.ndarray: ...

    def read_rows(self, rows: np.ndarray) -> np.ndarray: ...


class _FileStream:
    """:class:`StreamReader` over one stream of a recording (metadata from ``rec``, rows from ``source``)."""

    def __init__(self, entry: _RecordingEntry, name: str) -> None:
        self.info = entry.streams[name]
        self._rec, self._source, self._name = entry.rec, entry.source, name

    @property
    def rate(self) -> float:
        return self.info.rate if self.info.rate else 1.0 / float(np.median(np.diff(self._rec.timestamps(self._name))))

    def index_range(self, t0: float, t1: float) -> tuple[int, int]:
        return self._rec.index_range(self._name, t0, t1)

    def times(self, i0: int, i1: int) -> np.ndarray:
        return self._rec.times(self._name, i0, i1)

    def nearest_rows(self, grid: np.ndarray) -> np.ndarray:
        return nearest_indices(self._rec.timestamps(self._name), grid)

    def read_slice(self, i0: int, i1: int) -> np.ndarray:
        return self._source.read_slice(self._name, i0, i1)

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        return self._source.read_rows(self._name, rows)


def specs_from_info(info: DataInfo, cfg: DataConfig) -> list[_Spec]:
    """Window specs of the modalities of ``info`` (a trained model's data) with the settings of ``cfg``."""
    specs = []
    for m in info.modalities:
        if m.kind == "image":
            specs.append(_Spec(m.name, "image", tuple(m.shape)))
        else:
            wcfg = getattr(cfg.modalities, m.name, None)
            env_names = wcfg.envelope_channels if wcfg is not None else []
            specs.append(_Spec(m.name, "signal", tuple(m.shape), tuple(m.channel_names),
                               tuple(c in env_names for c in m.channel_names)))
    return specs


def signal_columns(spec: _Spec, stored: Sequence[str], where: str) -> list[int | None]:
    """Stream column of each window channel of a signal ``spec`` (None: the stream lacks it -> zeros)."""
    stored = list(stored)
    if spec.name == "electrical":
        return list(elec.stored_channel_order(stored, where))
    return [stored.index(c) if c in stored else None for c in spec.channels]


def load_image(stream: StreamReader, spec: _Spec, t0: float, window_s: float) -> ModalityWindowData | None:
    """Un-normalised image window (T, H, W) starting at ``t0``: the stored frame nearest each grid time."""
    info = stream.info
    grid = window_grid(t0, window_s, spec.length)
    valid = _valid_mask(info, grid)
    if not valid.any():
        return None
    if info.regular:
        idx = np.clip(np.floor((grid - info.starting_time) * info.rate + 0.5), 0, info.n - 1).astype(np.int64)
    else:
        idx = stream.nearest_rows(grid)
    rows, inverse = np.unique(idx, return_inverse=True)
    frames = stream.read_rows(rows)[inverse]  # (T, H, W[, 3])
    frames = resize_frames(to_grey(frames), spec.shape[1:])
    return ModalityWindowData(frames.astype(np.float32, copy=False), valid)


def _read_signal(stream: StreamReader, t0: float, window_s: float, out_rate: float):
    rate = stream.rate
    margin = signal_margin_s(rate, out_rate)
    i0, i1 = stream.index_range(t0 - margin, t0 + window_s + margin)
    if i1 <= i0:
        return None, None, rate
    x = stream.read_slice(i0, i1)
    return x.reshape(len(x), -1), stream.times(i0, i1), rate  # (n, C), (n,)


def signal_right_margin_s(native_rate: float, spec: _Spec, window_s: float) -> float:
    """Seconds of samples after the window's end that :func:`load_signal` / :func:`load_electrical` read."""
    return signal_margin_s(native_rate, spec.length / window_s)


def load_signal(stream: StreamReader, spec: _Spec, t0: float, window_s: float,
                columns: list[int | None]) -> ModalityWindowData | None:
    """Un-normalised signal window (C, S): waveform channels resampled, envelope channels as bin RMS."""
    info = stream.info
    grid = window_grid(t0, window_s, spec.length)
    valid = _valid_mask(info, grid)
    x, times, rate = _read_signal(stream, t0, window_s, spec.length / window_s)
    if x is None or not valid.any():
        return None
    out = np.zeros(spec.shape, dtype=np.float32)  # (C, S)
    wave = [c for c, (col, env) in enumerate(zip(columns, spec.envelope)) if col is not None and not env]
    env = [c for c, (col, e) in enumerate(zip(columns, spec.envelope)) if col is not None and e]
    if wave:
        out[wave] = resample_signal(x[:, [columns[c] for c in wave]], times, grid, rate, info.regular).T
    if env:
        out[env] = bin_rms(x[:, [columns[c] for c in env]], times, grid).T
    return ModalityWindowData(out, valid)


def load_electrical(stream: StreamReader, spec: _Spec, t0: float, window_s: float, columns: list[int | None],
                    process: str, short_circuit_v: float):
    """Un-normalised electrical window (7, S) and its params (4,), or (None, None)."""
    info = stream.info
    grid = window_grid(t0, window_s, spec.length)
    valid = _valid_mask(info, grid)
    x, times, rate = _read_signal(stream, t0, window_s, spec.length / window_s)
    if x is None or not valid.any():
        return None, None
    derived = elec.derive(x[:, columns], process, short_circuit_v)
    out = np.empty(spec.shape, dtype=np.float32)  # (7, S)
    sc = elec.SHORT_CIRCUIT
    out[:sc] = resample_signal(derived[:, :sc], times, grid, rate, info.regular).T
    out[sc] = bin_mean(derived[:, sc : sc + 1], times, grid)[:, 0]
    return ModalityWindowData(out, valid), elec.window_params(out, valid)


def norm_arrays(norm: NormStats | None) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """(mean, std) float32 arrays per modality and for ``params``; None without statistics."""
    if norm is None:
        return None
    return {**{name: s.arrays() for name, s in norm.modalities.items()}, "params": norm.params.arrays()}


def window_tensors(specs: Sequence[_Spec], modalities: dict[str, ModalityWindowData | None],
                   params: np.ndarray | None, norm: dict | None, n_params: int) -> dict[str, np.ndarray]:
    """The model inputs of one window (no batch axis) as float32/bool arrays.

    Normalises every present modality with ``norm`` (from :func:`norm_arrays`; None = raw values),
    sets samples in gaps to 0 and gives absent modalities zeros. Returns ``{<modality>: (T, H, W) |
    (C, S), "present": (M,) bool, "params": (P,)}``.
    """
    out: dict[str, np.ndarray] = {}
    present = np.zeros(len(specs), dtype=bool)
    for j, spec in enumerate(specs):
        win = modalities.get(spec.name)
        if win is None:
            out[spec.name] = np.zeros(spec.shape, dtype=np.float32)
            continue
        present[j] = True
        data = win.data
        if norm is not None:
            mean, std = norm[spec.name]
            if spec.kind == "image":
                data = (data - mean[0]) / std[0]
            else:
                data = (data - mean[:, None]) / std[:, None]
        data = np.array(data, dtype=np.float32)
        if spec.kind == "image":
            data[~win.valid] = 0.0  # (T, H, W): frames in gaps
        else:
            data[:, ~win.valid] = 0.0  # (C, S): samples in gaps
        out[spec.name] = data
    p = np.zeros(n_params, dtype=np.float32)
    if params is not None:
        p = params.astype(np.float32)
        if norm is not None:
            mean, std = norm["params"]
            p = (p - mean) / std
    out["present"] = present
    out["params"] = np.asarray(p, dtype=np.float32)
    return out


class WindowDataset(Dataset):
    """Time-aligned multimodal windows over a set of recordings.

    Args:
        files: recordings — a .h5 file, directory, glob, split-list file, or a sequence of these.
        cfg: dataset configuration (windows, per-modality lengths/sizes, thresholds, taxonomy, pairs, filter).
        norm: normalisation statistics (from the training split) applied to every item; None
            delivers raw physical values (as used to compute the statistics).
        progress: show a progress bar while indexing.

    Attributes:
        info: the :class:`DataInfo` a model sizes itself from.
        window_index: ``[(recording_id, t0), ...]`` for every item, in item order (recordings in
            file order, windows in time order).

    Item (one window; the batch contract of :mod:`weldfusion.datasets.info` without the B axis)::

        video (T, H, W) f32 | thermal (T, H, W) f32 | acoustic (C, S) f32 | electrical (7, S) f32
        present (M,) bool | params (4,) f32 | pair, phase () int64 | defects (D,) f32 | t0 () f64
        recording_id, material_pair, process: str
    """

    def __init__(
        self,
        files: str | os.PathLike | Sequence[str | os.PathLike],
        cfg: DataConfig | None = None,
        *,
        norm: NormStats | None = None,
        progress: bool = False,
    ) -> None:
        self.cfg = cfg = cfg if cfg is not None else DataConfig()
        self.window_s = cfg.window_s
        self.hop_s = cfg.hop_s
        self.taxonomy = cfg.taxonomy
        paths = resolve_files(files)
        entries = filter_recordings(scan(paths), cfg.filter.pairs, cfg.filter.processes)
        if not entries:
            raise InvalidInput(
                f"no recordings left after filter pairs={cfg.filter.pairs} processes={cfg.filter.processes} "
                f"among {len(paths)} file(s) (first: {paths[0]})"
            )
        seen: dict[str, Path] = {}
        for e in entries:
            if e.recording_id in seen:
                raise InvalidInput(f"{e.path}: recording_id {e.recording_id!r} also used by {seen[e.recording_id]}")
            seen[e.recording_id] = e.path
            if e.material_pair not in cfg.pairs:
                raise InvalidInput(
                    f"{e.path}: material pair {e.material_pair!r} not in data.pairs ({', '.join(cfg.pairs)})"
                )
        recs = [Recording(e.path) for e in entries]
        try:
            self._specs = self._make_specs(recs, norm)
            self._build_index(recs, entries, progress)
        finally:
            for r in recs:
                r.close()
        self.set_norm(norm)

    # -- construction ---------------------------------------------------------------------------
    def _make_specs(self, recs: list[Recording], norm: NormStats | None) -> list[_Spec]:
        declared = declared_modalities()
        windows = self.cfg.modalities
        specs = []
        for name, mod in declared.items():
            wcfg = getattr(windows, name, None)
            if wcfg is None:
                continue
            if mod.kind == "image":
                if not isinstance(wcfg, ImageWindow):
                    raise InvalidInput(f"data.modalities.{name}: image modality needs an image window config")
                size = wcfg.size
                if size is None:
                    shapes = {tuple(r.streams[name].sample_shape[:2]): r.path for r in recs if name in r.streams}
                    if not shapes:
                        raise InvalidInput(f"data.modalities.{name}.size: null needs at least one {name} stream")
                    if len(shapes) > 1:
                        raise InvalidInput(f"data.modalities.{name}.size: null but frame sizes differ: {shapes}")
                    size = next(iter(shapes))
                specs.append(_Spec(name, "image", (wcfg.length, int(size[0]), int(size[1]))))
            else:
                if not isinstance(wcfg, SignalWindow):
                    raise InvalidInput(f"data.modalities.{name}: signal modality needs a signal window config")
                if name == "electrical":
                    channels = elec.WINDOW_CHANNELS
                elif wcfg.channels is not None:
                    channels = tuple(wcfg.channels)
                elif norm is not None and name in norm.modalities:
                    channels = tuple(norm.modalities[name].channels)
                else:
                    found: dict[str, None] = {}
                    for r in recs:
                        if name in r.streams:
                            for c in r.streams[name].channel_names:
                                found.setdefault(c, None)
                    channels = tuple(found) or tuple(mod.channels)
                    if not channels:
                        raise InvalidInput(
                            f"no recording has a {name} stream to take channel names from: set "
                            f"data.modalities.{name}.channels (or enabled: false)"
                        )
                envelope = tuple(c in wcfg.envelope_channels for c in channels)
                specs.append(_Spec(name, "signal", (len(channels), wcfg.length), channels, envelope))
        unknown = [n for n in vars(windows) if n not in declared]
        if unknown:
            raise InvalidInput(f"data.modalities: {unknown[0]!r} is not a declared modality")
        return specs

    def _build_index(self, recs: list[Recording], entries, progress: bool) -> None:
        cfg = self.cfg
        names = [s.name for s in self._specs]
        enabled = np.array([getattr(cfg.modalities, n).enabled for n in names], dtype=bool)
        self._recs: list[_RecordingEntry] = []
        rec_idx, t0s, present, phase, defects = [], [], [], [], []
        for entry, rec in tqdm(list(zip(entries, recs)), desc="indexing recordings", disable=not progress):
            where = str(rec.path)
            streams = {n: rec.streams[n] for n in names if n in rec.streams and rec.streams[n].n > 0}
            columns: dict[str, list[int | None]] = {}
            for spec in self._specs:
                if spec.kind != "signal" or spec.name not in streams:
                    continue
                columns[spec.name] = signal_columns(spec, streams[spec.name].channel_names, where)
            phases, defs = rec.phases, rec.defects
            for row in phases:
                if row.label not in self.taxonomy.phases:
                    raise InvalidInput(f"{where}: phase label {row.label!r} not in data.phases")
            for row in defs:
                if row.label not in self.taxonomy.defects:
                    raise InvalidInput(f"{where}: defect label {row.label!r} not in data.defects")
            starts = [s.t_start for s in streams.values()] + [p.start_s for p in (*phases, *defs)]
            ends = [s.t_end for s in streams.values()] + [p.end_s for p in (*phases, *defs)]
            t0 = window_starts((min(starts), max(ends)) if starts else (0.0, 0.0), cfg.window_s, cfg.hop_s)
            pres = np.zeros((len(t0), len(names)), dtype=bool)
            for j, name in enumerate(names):
                if enabled[j] and name in streams:
                    cov = np.array([rec.gap_coverage(name, t, t + cfg.window_s) for t in t0])
                    pres[:, j] = cov <= cfg.gap_threshold + _EPS
            if cfg.preload:
                source = MemorySource(rec, list(streams))
            else:
                source = HDF5Source(rec)
            self._recs.append(_RecordingEntry(
                source, entry.recording_id, entry.material_pair, entry.process,
                cfg.pairs.index(entry.material_pair), streams, columns,
            ))
            rec_idx.append(np.full(len(t0), len(self._recs) - 1, dtype=np.int64))
            t0s.append(t0)
            present.append(pres)
            phase.append(phase_labels(phases, t0, cfg.window_s, self.taxonomy.phases))
            defects.append(defect_labels(defs, t0, cfg.window_s, self.taxonomy.defects,
                                         cfg.defect_overlap_threshold))
        self._win_rec = np.concatenate(rec_idx)
        self._win_t0 = np.concatenate(t0s)
        self._present = np.concatenate(present)
        self._phase = np.concatenate(phase)
        self._defects = np.concatenate(defects)

    # -- description ----------------------------------------------------------------------------
    @property
    def info(self) -> DataInfo:
        mods = tuple(
            ModalityShape(s.name, s.kind, s.shape, s.channels, s.length / self.window_s) for s in self._specs
        )
        return DataInfo(mods, self.taxonomy.phases, self.taxonomy.defects, tuple(self.cfg.pairs), self.window_s)

    @property
    def modality_names(self) -> tuple[str, ...]:
        """Configured modalities in presence-mask column order."""
        return tuple(s.name for s in self._specs)

    def _spec(self, name: str) -> _Spec:
        for s in self._specs:
            if s.name == name:
                return s
        raise KeyError(f"modality {name!r} not in this dataset (have: {', '.join(self.modality_names)})")

    def kind(self, name: str) -> str:
        return self._spec(name).kind

    def channel_names(self, name: str) -> tuple[str, ...]:
        """Signal channels in tensor order; (name,) for an image modality (one normalisation channel)."""
        spec = self._spec(name)
        return spec.channels if spec.kind == "signal" else (name,)

    @property
    def recording_ids(self) -> list[str]:
        return [r.recording_id for r in self._recs]

    @property
    def window_index(self) -> list[tuple[str, float]]:
        """``(recording_id, t0)`` of every item, in item order."""
        return [(self._recs[r].recording_id, float(t)) for r, t in zip(self._win_rec, self._win_t0)]

    def windows_of(self, recording_id: str) -> list[int]:
        """Item indices of one recording's windows in time order (``Subset(ds, ds.windows_of(rid))``)."""
        for r, entry in enumerate(self._recs):
            if entry.recording_id == recording_id:
                idx = np.flatnonzero(self._win_rec == r)
                return idx[np.argsort(self._win_t0[idx], kind="stable")].tolist()
        raise KeyError(f"recording {recording_id!r} not in this dataset")

    @property
    def presence(self) -> np.ndarray:
        """(N, M) bool presence mask of every window (from metadata; columns in ``modality_names`` order)."""
        return self._present.copy()

    @property
    def phase_targets(self) -> np.ndarray:
        """(N,) int64 phase label of every window (for samplers / class weights)."""
        return self._phase.copy()

    @property
    def defect_targets(self) -> np.ndarray:
        """(N, D) float32 defect multi-hot of every window."""
        return self._defects.copy()

    def __len__(self) -> int:
        return len(self._win_t0)

    def __repr__(self) -> str:
        return (f"WindowDataset({len(self._recs)} recordings, {len(self)} windows of {self.window_s} s "
                f"every {self.hop_s} s, modalities {', '.join(self.modality_names)})")

    # -- normalisation --------------------------------------------------------------------------
    def set_norm(self, norm: NormStats | None) -> None:
        """Apply ``norm`` to every item from now on (None: raw values); channels must match."""
        if norm is not None:
            for spec in self._specs:
                stats = norm.modalities.get(spec.name)
                want = self.channel_names(spec.name)
                if stats is None or tuple(stats.channels) != want:
                    have = None if stats is None else stats.channels
                    raise InvalidInput(f"normalisation stats for {spec.name}: channels {have} != dataset's {list(want)}")
            if tuple(norm.params.channels) != self.info.params:
                raise InvalidInput(f"normalisation stats params {norm.params.channels} != {list(self.info.params)}")
        self.norm = norm
        self._norm_arrays = norm_arrays(norm)
        self._cache: dict[int, dict] = {}  # data.cache_windows: item i as first assembled under this norm

    def close(self) -> None:
        """Close every file handle held by this process (e.g. before starting DataLoader workers)."""
        for r in self._recs:
            r.source.close()

    # -- loading --------------------------------------------------------------------------------
    def raw_window(self, i: int) -> RawWindow:
        """Window ``i`` before normalisation (physical units)."""
        if not 0 <= i < len(self):
            raise IndexError(f"window {i} out of range (dataset has {len(self)})")
        entry = self._recs[int(self._win_rec[i])]
        t0 = float(self._win_t0[i])
        mods: dict[str, ModalityWindowData | None] = {}
        params = None
        for j, spec in enumerate(self._specs):
            if not self._present[i, j]:
                mods[spec.name] = None
                continue
            stream = _FileStream(entry, spec.name)
            if spec.kind == "image":
                win = load_image(stream, spec, t0, self.window_s)
            elif spec.name == "electrical":
                win, params = load_electrical(stream, spec, t0, self.window_s, entry.columns[spec.name],
                                              entry.process, self.cfg.modalities.electrical.short_circuit_v)
            else:
                win = load_signal(stream, spec, t0, self.window_s, entry.columns[spec.name])
            mods[spec.name] = win
        return RawWindow(entry.recording_id, t0, mods, params)

    def __getitem__(self, i: int) -> dict:
        i = int(i)
        cached = self._cache.get(i)
        if cached is not None:
            return dict(cached)  # a new dict of the same (never modified) tensors
        raw = self.raw_window(i)
        entry = self._recs[int(self._win_rec[i])]
        arrays = window_tensors(self._specs, raw.modalities, raw.params, self._norm_arrays, len(self.info.params))
        # torch.from_numpy of NumPy zeros, not torch.zeros: no intra-op thread pool for a fill (ms under load)
        item: dict = {k: torch.from_numpy(v) for k, v in arrays.items()}
        item["pair"] = torch.tensor(entry.pair_index, dtype=torch.int64)
        item["phase"] = torch.tensor(int(self._phase[i]), dtype=torch.int64)
        item["defects"] = torch.from_numpy(self._defects[i].copy())
        item["t0"] = torch.tensor(raw.t0, dtype=torch.float64)
        item["recording_id"] = entry.recording_id
        item["material_pair"] = entry.material_pair
        item["process"] = entry.process
        if self.cfg.cache_windows:
            self._cache[i] = item
            item = dict(item)
        return item


def build_datasets(
    cfg: DataConfig, splits: dict[str, Sequence[str | os.PathLike]], norm: NormStats | None = None,
    progress: bool = True,
) -> tuple[dict[str, WindowDataset], NormStats]:
    """Datasets of every non-empty split; ``norm`` is computed on ``splits["train"]`` when not given.

    Returns ``({"train": ds, "val": ds, ...}, norm)`` with ``norm`` applied to all of them.
    """
    if norm is None:
        if not splits.get("train"):
            raise InvalidInput("no training recordings to compute normalisation statistics on")
        train = WindowDataset(splits["train"], cfg, progress=progress)
        norm = compute_norm_stats(train, cfg.norm_max_windows, progress=progress)
    out = {}
    for name, files in splits.items():
        if files:
            out[name] = WindowDataset(files, cfg, norm=norm, progress=progress)
    return out, norm
