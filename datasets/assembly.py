"""Window assembly: one window's model inputs from any stream reader — the one implementation shared
by the offline dataset (:class:`~weldfusion.datasets.windows.WindowDataset`, reading recordings)
and the live engine (``tools/streaming/window_assembler.py``, reading ring buffers).

Each modality goes through one load path (:func:`load_modality`): the stream's samples around the
window are resampled onto the window grid (:mod:`weldfusion.datasets.resample`: sample ``k`` sits
at ``t0 + k * window_s / length``). Images take the stored frame nearest each grid time (grey,
``cv2.INTER_AREA`` resize). Signals are resampled anti-aliased; channels listed as envelopes come
as bin RMS. A sensor with derived channels (``sensors/<name>/derived.py``: electrical's power,
heat input and short-circuit share) has them computed at the native rate first, its bin-mean
channels delivered as bin means, and — if it provides the window parameters — those computed from
the window. :func:`window_tensors` then normalises, zeroes samples in gaps and gives absent
modalities zeros.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from weldfusion.datasets.info import DataInfo
from weldfusion.datasets.normalize import NormStats
from weldfusion.datasets.reader import StreamInfo
from weldfusion.datasets.resample import (
    BinCache,
    bin_mean,
    bin_rms,
    resample_signal,
    resize_frames,
    signal_margin_s,
    to_grey,
    window_grid,
)
from weldfusion.datasets.sample_times import RegularTimes
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.recipes.errors import DataWarning
from weldfusion.sensors.registry import part as sensor_part


@dataclass(frozen=True)
class WindowSpec:
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
    """A window before normalisation: ``modalities[name]`` is None when absent; ``params`` (P,) or None."""

    recording_id: str
    t0: float
    modalities: dict[str, ModalityWindowData | None]
    params: np.ndarray | None


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


def derived_channels(name: str):
    """The derived-channel declaration of sensor ``name`` (``sensors/<name>/derived.py``) or None."""
    return sensor_part(name, "derived")


def valid_mask(info: StreamInfo, grid: np.ndarray) -> np.ndarray:
    """(L,) bool: grid times inside the stream's samples and outside its gaps."""
    valid = (grid >= info.t_start - TIME_EPS) & (grid < info.t_end - TIME_EPS)
    for g0, g1 in info.gaps:
        valid &= ~((grid >= g0) & (grid < g1))
    return valid


def specs_from_info(info: DataInfo, cfg) -> list[WindowSpec]:
    """Window specs of the modalities of ``info`` (a trained model's data) with the settings of ``cfg`` (DataConfig)."""
    specs = []
    for m in info.modalities:
        if m.kind == "image":
            specs.append(WindowSpec(m.name, "image", tuple(m.shape)))
        else:
            wcfg = getattr(cfg.modalities, m.name, None)
            env_names = wcfg.envelope_channels if wcfg is not None else []
            specs.append(WindowSpec(m.name, "signal", tuple(m.shape), tuple(m.channel_names),
                                    tuple(c in env_names for c in m.channel_names)))
    return specs


def signal_columns(spec: WindowSpec, stored: Sequence[str], where: str) -> list[int | None]:
    """Stream column of each input channel of a signal ``spec`` (None: the stream lacks it -> zeros).

    A sensor with derived channels names the stored columns its derivation takes; others map the
    window channels by name.
    """
    derived = derived_channels(spec.name)
    if derived is not None:
        return list(derived.stored_channel_order(list(stored), where))
    stored = list(stored)
    return [stored.index(c) if c in stored else None for c in spec.channels]


def signal_right_margin_s(native_rate: float, spec: WindowSpec, window_s: float) -> float:
    """Seconds of samples after the window's end that :func:`load_modality` reads for a signal."""
    return signal_margin_s(native_rate, spec.length / window_s)


def image_rows(stream: StreamReader, grid: np.ndarray) -> np.ndarray:
    """(T,) int64 stored frame of each window time ``grid`` (T,) s: the nearest frame (the rule of
    every image window, and of the per-frame truth that goes with it)."""
    info = stream.info
    if info.regular:
        return np.clip(np.floor((grid - info.starting_time) * info.rate + 0.5), 0, info.n - 1).astype(np.int64)
    return stream.nearest_rows(grid)


def _load_image(stream: StreamReader, spec: WindowSpec, t0: float, window_s: float) -> ModalityWindowData | None:
    """Un-normalised image window (T, H, W): the stored frame nearest each grid time."""
    info = stream.info
    grid = window_grid(t0, window_s, spec.length)
    valid = valid_mask(info, grid)
    if not valid.any():
        return None
    rows, inverse = np.unique(image_rows(stream, grid), return_inverse=True)
    frames = stream.read_rows(rows)[inverse]  # (T, H, W[, 3])
    frames = resize_frames(to_grey(frames), spec.shape[1:])
    return ModalityWindowData(frames.astype(np.float32, copy=False), valid)


def _read_signal(stream: StreamReader, t0: float, window_s: float, out_rate: float):
    """Native samples (n, C) and times (n,) around the window (resampling margin included), or Nones.

    The times are a :class:`~weldfusion.datasets.sample_times.RegularTimes` for a regular stream."""
    rate = stream.rate
    margin = signal_margin_s(rate, out_rate)
    i0, i1 = stream.index_range(t0 - margin, t0 + window_s + margin)
    if i1 <= i0:
        return None, None, rate
    x = stream.read_slice(i0, i1)
    info = stream.info  # a regular stream's times are computed where they are needed (a MHz window has 10^5)
    times = RegularTimes(info.starting_time, info.rate, i0, i1) if info.regular else stream.times(i0, i1)
    return x.reshape(len(x), -1), times, rate


def _columns(x: np.ndarray, cols: list[int]) -> np.ndarray:
    """x[:, cols] of (n, C) samples; a view when ``cols`` is a run of neighbours (no copy of a MHz window)."""
    if cols == list(range(cols[0], cols[0] + len(cols))):
        return x[:, cols[0]:cols[0] + len(cols)]
    return x[:, cols]


def load_modality(stream: StreamReader, spec: WindowSpec, t0: float, window_s: float,
                  columns: list[int | None] | None, process: str, window_cfg, max_invalid: float = 1.0
                  ) -> tuple[ModalityWindowData | None, np.ndarray | None]:
    """Un-normalised window of one modality starting at ``t0`` and the window parameters it provides.

    Args:
        stream: the modality's samples (:class:`StreamReader`).
        spec: its window spec; ``columns``: for signals, :func:`signal_columns` of the stream.
        process: the recording's welding process (derivations such as the heat input need it).
        window_cfg: the modality's window config (``data.modalities.<name>``; derivations read theirs).
        max_invalid: largest share of the window that may be invalid once non-finite samples count as
            missing (the dataset's ``gap_threshold``); beyond it the modality is absent.
    Returns:
        ``(data, params)``: ``data`` (T, H, W) or (C, S) with its valid mask, or None when no sample
        of the window is valid; ``params`` (P,) when this sensor provides the window parameters, else None.
    """
    if spec.kind == "image":
        return _finite_only(getattr(stream, "where", None), spec.name, _load_image(stream, spec, t0, window_s),
                            max_invalid), None
    info = stream.info
    grid = window_grid(t0, window_s, spec.length)
    valid = valid_mask(info, grid)
    x, times, rate = _read_signal(stream, t0, window_s, spec.length / window_s)
    if x is None or not valid.any():
        return None, None
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():  # a sensor reporting NaN/inf: those samples are missing, like a gap
        _warn_nonfinite(getattr(stream, "where", None), spec.name)
        x = np.where(bad[:, None], 0, x)
        reach = signal_margin_s(rate, spec.length / window_s) + 1.0 / rate  # the resampling filter's support
        bad_t = times[bad]
        j = np.clip(np.searchsorted(bad_t, grid), 1, len(bad_t) - 1) if len(bad_t) > 1 else np.zeros(len(grid), int)
        near = np.minimum(np.abs(grid - bad_t[j]), np.abs(grid - bad_t[np.maximum(j - 1, 0)]))
        valid = valid & (near > reach)
        if not valid.any() or (~valid).mean() > max_invalid + TIME_EPS:
            return None, None
    derived = derived_channels(spec.name)
    if derived is not None:  # (n, C) at the native rate, in derived.WINDOW_CHANNELS order
        x, columns = derived.derive(x[:, columns], process, window_cfg), list(range(len(spec.channels)))
        means = tuple(c in derived.BIN_MEAN_CHANNELS for c in spec.channels)
    else:
        means = (False,) * len(spec.channels)
    out = np.zeros(spec.shape, dtype=np.float32)  # (C, S)
    groups = {"wave": [], "rms": [], "mean": []}
    for c, (col, env, mean) in enumerate(zip(columns, spec.envelope or (False,) * len(columns), means)):
        if col is not None:
            groups["mean" if mean else "rms" if env else "wave"].append(c)
    if groups["wave"]:
        out[groups["wave"]] = resample_signal(_columns(x, [columns[c] for c in groups["wave"]]), times, grid, rate,
                                              info.regular).T
    # a live stream's bin caches (its overlapping windows reuse bins); not for derived channels, whose
    # samples may depend on the window they are derived in
    caches = getattr(stream, "bin_caches", None) if derived is None else None
    for kind, reduce in (("rms", bin_rms), ("mean", bin_mean)):
        if groups[kind]:
            cols = [columns[c] for c in groups[kind]]
            cache = caches.setdefault((kind, tuple(cols)), BinCache()) if caches is not None else None
            out[groups[kind]] = reduce(_columns(x, cols), times, grid, cache).T
    params = derived.window_params(out, valid) if derived is not None and hasattr(derived, "window_params") else None
    return ModalityWindowData(out, valid), params


def _warn_nonfinite(where: str | None, name: str) -> None:
    prefix = f"{where}: " if where else ""
    warnings.warn(f"{prefix}{name}: non-finite samples (NaN/inf) are treated as missing", DataWarning, stacklevel=3)


def _finite_only(where: str | None, name: str, win: ModalityWindowData | None, max_invalid: float
                 ) -> ModalityWindowData | None:
    """Image windows (T, H, W): non-finite frames (a camera reporting NaN/inf) are missing, like
    frames in a gap — they leave the valid mask and become 0; with more than ``max_invalid`` of the
    window invalid the modality is absent (None), as the gap rule makes it, and a warning says so.
    (Signals are checked on their native samples in :func:`load_modality`, before resampling.)"""
    if win is None:
        return None
    finite = np.isfinite(win.data).reshape(len(win.data), -1).all(axis=1)  # (T,)
    if finite.all():
        return win
    _warn_nonfinite(where, name)
    valid = win.valid & finite
    data = np.array(win.data, copy=True)
    data[~finite] = 0.0
    if not valid.any() or (~valid).mean() > max_invalid + TIME_EPS:
        return None
    return ModalityWindowData(data, valid)


def norm_arrays(norm: NormStats | None) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """(mean, std) float32 arrays per modality and for ``params``; None without statistics."""
    if norm is None:
        return None
    return {**{name: s.arrays() for name, s in norm.modalities.items()}, "params": norm.params.arrays()}


def window_tensors(specs: Sequence[WindowSpec], modalities: dict[str, ModalityWindowData | None],
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
