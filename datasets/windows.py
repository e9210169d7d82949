"""The time-aligned windowed dataset: fixed-length multimodal windows cut from recordings.

Windows: for every recording, windows of ``window_s`` seconds start every ``hop_s`` seconds from
the start of the recording's span (earliest start to latest end over its streams and label
intervals); a window is kept when it fits inside the span. Labels follow the rules of
:mod:`weldfusion.datasets.labels`; each configured modality is assembled by
:mod:`weldfusion.datasets.assembly` (the code the live engine uses too).

Masks: a modality is present in a window unless it is disabled in the config, the recording has
no such stream, or more than ``gap_threshold`` of the window lies in the stream's gaps or outside
its samples. An absent modality is a zero tensor of the configured shape. Inside a present
modality, samples that fall into a gap (or outside the stream) are set to 0 after normalisation.

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

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm
from weldfusion.datasets.assembly import (
    ModalityWindowData,
    RawWindow,
    WindowSpec,
    derived_channels,
    image_rows,
    load_modality,
    norm_arrays,
    signal_columns,
    window_tensors,
)
from weldfusion.datasets.config import DataConfig
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.datasets.labels import IGNORE_PHASE, defect_labels, phase_labels, recording_span, window_starts
from weldfusion.datasets.localisation_truth import NO_BOX, LocalisationTruth
from weldfusion.datasets.normalize import NormStats, compute_norm_stats
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.datasets.resample import nearest_indices, window_grid
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.datasets.splits import filter_recordings, resolve_files, scan
from weldfusion.datasets.window_sources import HDF5Source, MemorySource
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.registry import modalities as declared_modalities
from weldfusion.sensors.window import ImageWindow, SignalWindow

__all__ = ["IGNORE_PHASE", "WindowDataset", "build_datasets"]


@dataclass
class _RecordingEntry:
    source: HDF5Source | MemorySource
    recording_id: str
    material_pair: str
    process: str
    pair_index: int
    streams: dict[str, StreamInfo]
    columns: dict[str, list[int | None]]  # signals: stream column of each window channel (None -> zeros)
    truth: dict[str, LocalisationTruth]  # data.localisation modalities with box truth in this recording

    @property
    def rec(self) -> Recording:
        return self.source.rec


class _FileStream:
    """:class:`~weldfusion.datasets.assembly.StreamReader` over one stream of a recording.

    Metadata comes from ``rec``, rows from ``source``.
    """

    def __init__(self, entry: _RecordingEntry, name: str) -> None:
        self.info = entry.streams[name]
        self._rec, self._source, self._name = entry.rec, entry.source, name
        self.where = str(entry.rec.path)  # named in warnings

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
    def _make_specs(self, recs: list[Recording], norm: NormStats | None) -> list[WindowSpec]:
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
                specs.append(WindowSpec(name, "image", (wcfg.length, int(size[0]), int(size[1]))))
            else:
                if not isinstance(wcfg, SignalWindow):
                    raise InvalidInput(f"data.modalities.{name}: signal modality needs a signal window config")
                derived = derived_channels(name)
                if derived is not None:
                    channels = tuple(derived.WINDOW_CHANNELS)
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
                specs.append(WindowSpec(name, "signal", (len(channels), wcfg.length), channels, envelope))
        unknown = [n for n in vars(windows) if n not in declared]
        if unknown:
            raise InvalidInput(f"data.modalities: {unknown[0]!r} is not a declared modality")
        return specs

    def _build_index(self, recs: list[Recording], entries, progress: bool) -> None:
        cfg = self.cfg
        names = [s.name for s in self._specs]
        images = [s.name for s in self._specs if s.kind == "image"]
        for name in cfg.localisation:
            if name not in images:
                raise InvalidInput(f"data.localisation: {name!r} is not an image modality of the windows ({', '.join(images)})")
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
            t0 = window_starts(recording_span(streams.values(), (*phases, *defs)), cfg.window_s, cfg.hop_s)
            pres = np.zeros((len(t0), len(names)), dtype=bool)
            for j, name in enumerate(names):
                if enabled[j] and name in streams:
                    cov = np.array([rec.gap_coverage(name, t, t + cfg.window_s) for t in t0])
                    pres[:, j] = cov <= cfg.gap_threshold + TIME_EPS
            truth = {}
            for name in cfg.localisation:
                found = LocalisationTruth.read(rec.h5, name, with_motion=True) if name in streams else None
                if found is not None:
                    truth[name] = found
            if cfg.preload:
                source = MemorySource(rec, list(streams))
            else:
                source = HDF5Source(rec)
            self._recs.append(_RecordingEntry(
                source, entry.recording_id, entry.material_pair, entry.process,
                cfg.pairs.index(entry.material_pair), streams, columns, truth,
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

    def _spec(self, name: str) -> WindowSpec:
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
            win, p = load_modality(_FileStream(entry, spec.name), spec, t0, self.window_s, entry.columns.get(spec.name),
                                   entry.process, getattr(self.cfg.modalities, spec.name), self.cfg.gap_threshold)
            mods[spec.name] = win
            params = p if p is not None else params
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
        for name in self.cfg.localisation:
            item.update(self._localisation_targets(entry, name, raw.t0))
        if self.cfg.cache_windows:
            self._cache[i] = item
            item = dict(item)
        return item

    def _localisation_targets(self, entry: _RecordingEntry, name: str, t0: float) -> dict:
        """``<name>_boxes`` (T, max_boxes, 5), ``<name>_motion`` (T, H, W) uint8 and their flags
        ``<name>_has_boxes``, ``<name>_has_motion`` () bool of the window at ``t0`` (empty and False
        where the recording has no truth)."""
        spec = self._spec(name)
        t, h, w = spec.shape
        boxes = np.zeros((t, self.cfg.max_boxes, 5), dtype=np.float32)
        boxes[:, :, 0] = NO_BOX
        motion = np.zeros((t, h, w), dtype=np.uint8)
        truth = entry.truth.get(name)
        if truth is not None:
            rows = image_rows(_FileStream(entry, name), window_grid(t0, self.window_s, t))
            boxes = truth.window_boxes(rows, self.cfg.max_boxes)
            if truth.has_motion:
                motion = truth.window_motion(rows, (h, w))
        return {f"{name}_boxes": torch.from_numpy(boxes), f"{name}_motion": torch.from_numpy(motion),
                f"{name}_has_boxes": torch.tensor(truth is not None),
                f"{name}_has_motion": torch.tensor(truth is not None and truth.has_motion)}


def training_norm(cfg: DataConfig, train_files: Sequence[str | os.PathLike] | None, progress: bool = True,
                  where: str = "data") -> NormStats:
    """Normalisation statistics of the raw training windows (``cfg.norm_max_windows`` at most)."""
    if not train_files:
        raise InvalidInput(f"{where}: no training recordings to compute normalisation statistics on")
    return compute_norm_stats(WindowDataset(train_files, cfg, progress=progress), cfg.norm_max_windows, progress=progress)


def build_datasets(
    cfg: DataConfig, splits: dict[str, Sequence[str | os.PathLike]], norm: NormStats | None = None,
    progress: bool = True,
) -> tuple[dict[str, WindowDataset], NormStats]:
    """Datasets of every non-empty split; ``norm`` is computed on ``splits["train"]`` when not given
    (:func:`training_norm`). The one builder of split datasets (training, evaluation, tools).

    Returns ``({"train": ds, "val": ds, ...}, norm)`` with ``norm`` applied to all of them.
    """
    if norm is None:
        norm = training_norm(cfg, splits.get("train"), progress)
    return {name: WindowDataset(files, cfg, norm=norm, progress=progress) for name, files in splits.items() if files}, norm
