"""The latest complete window from the ring buffers, with the offline dataset's own code.

Windows are cut, resampled, derived (a sensor's derived channels, the window params) and
normalised by the same functions as :class:`weldfusion.datasets.windows.WindowDataset`
(:mod:`weldfusion.datasets.assembly`: ``load_modality``, ``window_tensors``), reading the ring
buffers through the :class:`~weldfusion.datasets.assembly.StreamReader` protocol. A window starting at ``t0`` over
the same samples is therefore bit-identical to the dataset's window at ``t0``.

A window is *complete* for a modality once every sample its assembly reads has arrived: for
frames, the frame nearest the last grid time; for signals, the samples up to the resampling
margin after the window's end (:func:`~weldfusion.datasets.resample.signal_margin_s`). The
presence rule is the dataset's: a modality is present when it is enabled, has been received,
and at most ``gap_threshold`` of the window lies in holes or outside its received samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from weldfusion.datasets.assembly import (
    load_modality,
    norm_arrays,
    signal_columns,
    specs_from_info,
    window_tensors,
)
from weldfusion.datasets.normalize import NormStats
from weldfusion.datasets.resample import signal_margin_s, window_grid
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.replay import StreamHeader
from weldfusion.tools.streaming.ring_buffer import RingBuffer


class WindowAssembler:
    """Ring buffers of the model's modalities and the windows built from them.

    Args:
        specs: window specs (``datasets.assembly.specs_from_info``), presence-mask column order.
        headers: the streams being received (modalities without a header are always absent).
        window_s: window length in seconds.
        gap_threshold: largest share of a window in holes for a modality to count as present.
        enabled: per modality, False masks it absent (``data.modalities.<m>.enabled``).
        process: welding process (derived channels such as the heat input depend on it).
        window_cfgs: per modality, its window config (``data.modalities.<m>``; derivations read theirs).
        norm: normalisation statistics of the training split (None = raw values).
        n_params: number of process parameters (``DataInfo.params``).
        pair_index: index of the recording's material pair in ``DataInfo.pairs``.
        buffer_s: seconds held per ring buffer beyond the window and its margins.
        where: the source (for error messages).
    """

    def __init__(self, specs: Sequence, headers: dict[str, StreamHeader], window_s: float, gap_threshold: float,
                 enabled: dict[str, bool], process: str, window_cfgs: dict, norm: NormStats | None,
                 n_params: int, pair_index: int, buffer_s: float = 2.0, where: str = "stream") -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in self.specs)
        self.window_s = float(window_s)
        self.gap_threshold = float(gap_threshold)
        self.enabled = {n: bool(enabled.get(n, True)) for n in self.names}
        self.process = process
        self.window_cfgs = dict(window_cfgs)
        self.n_params = n_params
        self.pair_index = pair_index
        self._norm = norm_arrays(norm)
        self.buffers: dict[str, RingBuffer] = {}
        self.columns: dict[str, list[int | None]] = {}
        self._margin: dict[str, float] = {}
        self._lag: dict[str, float] = {}
        self.buffer_s, self.where = buffer_s, where
        for spec in self.specs:
            head = headers.get(spec.name)
            if head is not None:
                self.add_stream(head)

    def add_stream(self, head: StreamHeader) -> None:
        """A ring buffer for the model's modality ``head.name`` (at start, or a sensor that joins a
        live stream late); a stream of the wrong kind is :class:`InvalidInput`."""
        spec = self._spec(head.name)
        if (spec.kind == "image") != (head.kind == "image"):
            raise InvalidInput(f"{self.where}: stream {spec.name} delivers {head.kind} samples, the model expects "
                               f"{spec.kind} windows")
        margin = 0.0 if spec.kind == "image" else signal_margin_s(head.rate, spec.length / self.window_s)
        if spec.kind == "signal":
            self.columns[spec.name] = signal_columns(spec, head.channel_names, self.where)
        self._margin[spec.name] = margin
        capacity = math.ceil((self.window_s + 2 * margin + self.buffer_s) * head.rate) + 2 * head.packet_samples
        self.buffers[spec.name] = RingBuffer(spec.name, head.sample_shape, head.dtype, head.rate,
                                             head.starting_time, capacity, head.channel_names, head.units)
        self._lag[spec.name] = self._nominal_lag(spec.name, head)

    @classmethod
    def for_model(cls, info, data_cfg, norm: NormStats | None, headers: dict[str, StreamHeader], meta: dict,
                  buffer_s: float = 2.0, where: str = "stream") -> WindowAssembler:
        """Assembler for a trained model: ``info`` (DataInfo), ``data_cfg`` (the recipe's DataConfig) and
        ``meta`` (recording attributes with ``material_pair`` and ``process``)."""
        pair, process = meta.get("material_pair"), meta.get("process")
        if pair not in info.pairs:
            raise InvalidInput(f"{where}: material pair {pair!r} is not one the model knows ({', '.join(info.pairs)})")
        specs = specs_from_info(info, data_cfg)
        enabled = {s.name: getattr(data_cfg.modalities, s.name).enabled
                   for s in specs if getattr(data_cfg.modalities, s.name, None) is not None}
        window_cfgs = {s.name: getattr(data_cfg.modalities, s.name, None) for s in specs}
        return cls(specs, headers, info.window_s, data_cfg.gap_threshold, enabled, str(process), window_cfgs,
                   norm, len(info.params), info.pairs.index(pair), buffer_s, where)

    # -- timing -------------------------------------------------------------------------------------
    def _spec(self, name: str):
        return self.specs[self.names.index(name)]

    def _needed(self, name: str, t0: float) -> tuple[str, float]:
        """What buffer ``name`` must hold for the window at ``t0``: ("index", i) -> sample i received;
        ("time", t) -> a sample at time >= t received."""
        spec, buf = self._spec(name), self.buffers[name]
        if spec.kind == "image":
            g_last = window_grid(t0, self.window_s, spec.length)[-1]
            if buf.regular:  # the frame load_image picks for the last grid time
                return "index", math.floor((g_last - buf.starting_time) * buf.rate + 0.5)
            return "time", g_last
        t_hi = t0 + self.window_s + self._margin[name]  # as datasets.assembly._read_signal
        if buf.regular:
            return "index", buf.index_until(t_hi) - 1
        return "time", t_hi - TIME_EPS

    def complete(self, name: str, t0: float) -> bool:
        """Every sample of ``name`` that the window at ``t0`` reads has arrived."""
        buf = self.buffers[name]
        if buf.empty:
            return False
        how, value = self._needed(name, t0)
        return buf.n > value if how == "index" else buf.last_time >= value

    def _nominal_lag(self, name: str, head: StreamHeader) -> float:
        """Seconds after a window's end until its samples of ``name`` have nominally arrived: the last
        sample read (nearest frame / resampling margin), plus one packet and one sample period."""
        spec = self._spec(name)
        if spec.kind == "image":
            last = window_grid(0.0, self.window_s, spec.length)[-1] + 0.5 / head.rate
        else:
            last = self.window_s + self._margin[name]
        return max(0.0, last - self.window_s) + head.packet_s + 1.0 / head.rate

    def lag_s(self) -> float:
        """Nominal delay from a window's end until all its samples have arrived (largest over streams)."""
        return max(self._lag.values(), default=0.0)

    def frontier(self) -> float:
        """Latest time up to which any stream has been received (window ends beyond it have no data)."""
        return max((b.t_end for b in self.buffers.values()), default=-math.inf)

    # -- windows ------------------------------------------------------------------------------------
    def present(self, name: str, t0: float) -> bool:
        """Presence rule of the dataset for ``name`` in the window at ``t0``."""
        buf = self.buffers.get(name)
        if buf is None or buf.empty or not self.enabled[name]:
            return False
        return buf.gap_coverage(t0, t0 + self.window_s) <= self.gap_threshold + TIME_EPS

    def assemble(self, t0: float) -> dict[str, np.ndarray]:
        """Model inputs of the window at ``t0`` with a batch axis of 1.

        Returns ``{<modality>: (1, T, H, W) | (1, C, S) float32, "present": (1, M) bool, "params": (1, P)
        float32, "pair": (1,) int64}``.
        """
        mods, params = {}, None
        for spec in self.specs:
            name = spec.name
            if not self.present(name, t0):
                mods[name] = None
                continue
            mods[name], p = load_modality(self.buffers[name], spec, t0, self.window_s, self.columns.get(name),
                                          self.process, self.window_cfgs.get(name), self.gap_threshold)
            params = p if p is not None else params
        arrays = window_tensors(self.specs, mods, params, self._norm, self.n_params)
        out = {k: v[None] for k, v in arrays.items()}  # (1, ...)
        out["pair"] = np.array([self.pair_index], dtype=np.int64)
        return out
