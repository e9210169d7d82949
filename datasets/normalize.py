"""Normalisation statistics: computed on the training split, saved as JSON, applied on load.

Statistics are taken over the *window tensors* the model sees (after resampling and the derived
electrical channels), from at most ``max_windows`` training windows spread evenly over the
split, counting only present modalities and samples outside gaps:

- images (video, thermal): one mean / std over all pixels of all frames;
- signals (acoustic, electrical): one mean / std per channel;
- ``params``: mean / std of the window means (current, voltage, travel_speed, heat_input).

Applied as ``(x - mean) / std``; a channel that is constant over the training windows
(std < :data:`MIN_STD`) is only centred (std stored as 1). A modality never present in the
training windows has ``count`` 0, mean 0 and std 1.

JSON layout::

    {"format": "weldfusion-normstats", "version": 1, "window_s": 0.4, "n_windows": 512,
     "recordings": ["run_0001", ...],          # the training split's recordings
     "modalities": {"electrical": {"channels": ["current", ...], "mean": [...], "std": [...], "count": 409600},
                    ...},
     "params": {"channels": [...], "mean": [...], "std": [...], "count": 512}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.recipes.files import atomic_write_text

if TYPE_CHECKING:
    from weldfusion.datasets.windows import WindowDataset

FORMAT = "weldfusion-normstats"
VERSION = 1
MIN_STD = 1e-6


@dataclass
class ChannelStats:
    """Per-channel mean and std (one entry for an image modality)."""

    channels: list[str]
    mean: list[float]
    std: list[float]
    count: int = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) as float32 arrays of shape (C,)."""
        return np.asarray(self.mean, dtype=np.float32), np.asarray(self.std, dtype=np.float32)


@dataclass
class NormStats:
    """Normalisation statistics of one training split."""

    modalities: dict[str, ChannelStats]
    params: ChannelStats
    recordings: list[str] = field(default_factory=list)
    n_windows: int = 0
    window_s: float = 0.0

    def to_dict(self) -> dict:
        """Plain data (the layout of the JSON file; also stored inside checkpoints)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "window_s": float(self.window_s),
            "n_windows": int(self.n_windows),
            "recordings": list(self.recordings),
            "modalities": {k: vars(v).copy() for k, v in self.modalities.items()},
            "params": vars(self.params).copy(),
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "normalisation stats") -> NormStats:
        """Inverse of :meth:`to_dict`; :class:`InvalidInput` naming ``where`` on bad content.

        ``format``/``version`` are checked when present (checkpoints written before they were
        stored there lack them)."""
        if not isinstance(data, dict) or data.get("format", FORMAT) != FORMAT:
            raise InvalidInput(f"{where}: not a weldfusion normalisation stats file")
        if data.get("version", VERSION) != VERSION:
            raise InvalidInput(f"{where}: unsupported normstats version {data.get('version')!r}")

        def stats(d: dict, key: str) -> ChannelStats:
            try:
                s = ChannelStats(list(d["channels"]), [float(v) for v in d["mean"]],
                                 [float(v) for v in d["std"]], int(d.get("count", 0)))
            except (KeyError, TypeError, ValueError) as err:
                raise InvalidInput(f"{where}: bad entry {key} ({err!r})") from None
            if not (len(s.channels) == len(s.mean) == len(s.std)) or min(s.std, default=1.0) <= 0:
                raise InvalidInput(f"{where}: bad entry {key} (channels/mean/std lengths differ or std <= 0)")
            return s

        try:
            mods = {k: stats(v, f"modalities.{k}") for k, v in data["modalities"].items()}
            params = stats(data["params"], "params")
        except (KeyError, AttributeError) as err:
            raise InvalidInput(f"{where}: missing key {err}") from None
        return cls(mods, params, list(data.get("recordings", [])), int(data.get("n_windows", 0)),
                   float(data.get("window_s", 0.0)))

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> NormStats:
        """Read JSON written by :meth:`save`; :class:`InvalidInput` naming the file on bad content."""
        path = Path(path)
        if not path.is_file():
            raise MissingInput(f"{path}: no such normalisation stats file")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise InvalidInput(f"{path}: not valid JSON ({err})") from None
        if not isinstance(data, dict) or "format" not in data:
            raise InvalidInput(f"{path}: not a weldfusion normalisation stats file")
        return cls.from_dict(data, str(path))


class _Moments:
    """Running per-channel sum / sum of squares in float64."""

    def __init__(self, channels: list[str]) -> None:
        self.channels = channels
        self.n = 0
        self.s = np.zeros(len(channels))
        self.ss = np.zeros(len(channels))

    def add(self, x: np.ndarray) -> None:
        """x: (C, n) values of valid samples."""
        x = np.asarray(x, dtype=np.float64)
        self.n += x.shape[1]
        self.s += x.sum(axis=1)
        self.ss += (x * x).sum(axis=1)

    def result(self) -> ChannelStats:
        if self.n == 0:
            c = len(self.channels)
            return ChannelStats(list(self.channels), [0.0] * c, [1.0] * c, 0)
        mean = self.s / self.n
        std = np.sqrt(np.maximum(self.ss / self.n - mean * mean, 0.0))
        std = np.where(std < MIN_STD, 1.0, std)
        return ChannelStats(list(self.channels), mean.tolist(), std.tolist(), int(self.n))


def compute_norm_stats(dataset: WindowDataset, max_windows: int = 2048, progress: bool = True) -> NormStats:
    """Statistics over at most ``max_windows`` windows of ``dataset`` (the training split), evenly spread."""
    if len(dataset) == 0:
        raise InvalidInput("cannot compute normalisation statistics: the training split has no windows")
    k = min(max_windows, len(dataset))
    indices = np.unique(np.linspace(0, len(dataset) - 1, k).round().astype(np.int64))
    acc = {name: _Moments(list(dataset.channel_names(name))) for name in dataset.modality_names}
    params = _Moments(list(dataset.info.params))
    for i in tqdm(indices, desc="normalisation stats", unit="win", disable=not progress, leave=False):
        raw = dataset.raw_window(int(i))
        for name, win in raw.modalities.items():
            if win is None:
                continue
            if dataset.kind(name) == "image":
                acc[name].add(win.data[win.valid].reshape(1, -1))  # (1, T_valid*H*W)
            else:
                acc[name].add(win.data[:, win.valid])  # (C, S_valid)
        if raw.params is not None:
            params.add(raw.params[:, None])
    return NormStats(
        {name: m.result() for name, m in acc.items()},
        params.result(),
        sorted(dataset.recording_ids),
        len(indices),
        float(dataset.window_s),
    )
