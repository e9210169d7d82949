"""Attention attribution against the simulator's ground truth (paper Table 7: "keyframe focus", "background noise").

Simulated recordings store the arc / heat-source pixel position of every stored frame in the root
group ``/truth`` (``video_arc_xy`` (N_video, 2), ``thermal_source_xy`` (N_thermal, 2), (column,
row) pixels; ``/truth`` attrs ``video_mm_per_px`` / ``thermal_mm_per_px``). For every window:

* **spatial**: the region is a disc of ``region_mm`` millimetres around the truth position of
  each kept frame, mapped into the MS-STAN attention grid (h, w): each grid cell is the footprint
  of its receptive-field centre (``stride * patch`` pixels square, :func:`msstan_geometry`), and
  its coverage is the share of that footprint (inside the frame) lying in the disc
  (:func:`disc_coverage`). Region share = sum over cells of attention x coverage; area share =
  mean coverage (what a uniform map would give); background share = 1 - region share. Frames
  whose time lies in an ``excluded_phases`` interval (default ``idle``: no arc) are left out.
* **temporal**: key frames are frames inside a defect interval or within ``key_tolerance_s`` of a
  phase transition (:func:`key_frame_mask`). Keyframe focus = temporal attention mass on the key
  frames among the kept frames, over windows that hold both key and other frames; its chance
  level is the share of key frames. With adaptive frame sampling, ``sampler_key_share`` is the
  share of key frames among the kept frames vs ``key_share_all_frames`` among all frames.
* **modality weights** per defect class (windows where it is positive; ``none`` = no defect) and
  per phase, over windows where every modality is present.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm import tqdm
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.datasets.resample import nearest_indices
from weldfusion.datasets.splits import scan
from weldfusion.fusion.msstan.model import msstan_cores
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import LabelInterval
from weldfusion.tools.training.predict import to_device

#: image modality -> (truth dataset in /truth, its mm-per-pixel attribute)
TRUTH_KEYS: dict[str, tuple[str, str]] = {
    "video": ("video_arc_xy", "video_mm_per_px"),
    "thermal": ("thermal_source_xy", "thermal_mm_per_px"),
}


@dataclass(frozen=True)
class GridGeometry:
    """Where the cells of an attention grid sit on the window frame (pixel k covers [k - 0.5, k + 0.5]).

    Cell (i, j) is centred at ``(origin + i * step, origin + j * step)`` (row, column) pixels and
    covers a ``step`` x ``step`` footprint; ``frame_hw`` is the window frame size (H, W).
    """

    frame_hw: tuple[int, int]
    grid_hw: tuple[int, int]
    origin: float
    step: float


def msstan_geometry(frame_hw: tuple[int, int], grid_hw: tuple[int, int], patch: int,
                    strides: Sequence[int]) -> GridGeometry:
    """Geometry of the spatial attention grid of an MS-STAN encoder.

    Patches of ``patch`` pixels (patch i centred at ``i * patch + (patch - 1) / 2``), then 3x3
    convolutions with padding 1 and ``strides``: output cell j is centred on input cell ``j * S``
    (S = product of strides). Raises ``ValueError`` when ``grid_hw`` is not what these give.
    """
    s = math.prod(strides)
    expect = []
    for n in frame_hw:
        g = -(-n // patch)
        for st in strides:
            g = (g - 1) // st + 1
        expect.append(g)
    if tuple(expect) != tuple(grid_hw):
        raise ValueError(f"attention grid {tuple(grid_hw)} does not match frames {tuple(frame_hw)} with patch "
                         f"{patch} and strides {tuple(strides)} (expected {tuple(expect)})")
    return GridGeometry(tuple(frame_hw), tuple(grid_hw), (patch - 1) / 2.0, float(s * patch))


def disc_coverage(geom: GridGeometry, centre_xy: np.ndarray, radius_px: np.ndarray | float,
                  samples: int = 8) -> np.ndarray:
    """Share of each cell's footprint (inside the frame) that lies in a disc, (K, h, w) in [0, 1].

    centre_xy: (K, 2) disc centres as (column, row) pixels of the window frame; radius_px: (K,) or scalar.
    Each footprint is sampled on a ``samples`` x ``samples`` grid of points.
    """
    centre_xy = np.asarray(centre_xy, dtype=np.float64).reshape(-1, 2)
    k = len(centre_xy)
    radius = np.broadcast_to(np.asarray(radius_px, dtype=np.float64), (k,))
    (height, width), (h, w) = geom.frame_hw, geom.grid_hw
    offs = ((np.arange(samples) + 0.5) / samples - 0.5) * geom.step  # (n,)
    ys = geom.origin + np.arange(h)[:, None] * geom.step + offs[None]  # (h, n)
    xs = geom.origin + np.arange(w)[:, None] * geom.step + offs[None]  # (w, n)
    vy = (ys >= -0.5) & (ys <= height - 0.5)  # (h, n) sample inside the frame
    vx = (xs >= -0.5) & (xs <= width - 0.5)  # (w, n)
    dy2 = (ys[None] - centre_xy[:, 1, None, None]) ** 2  # (K, h, n)
    dx2 = (xs[None] - centre_xy[:, 0, None, None]) ** 2  # (K, w, n)
    inside = dy2[:, :, None, :, None] + dx2[:, None, :, None, :] <= radius[:, None, None, None, None] ** 2
    valid = vy[:, None, :, None] & vx[None, :, None, :]  # (h, w, n, n)
    hit = (inside & valid[None]).sum(axis=(3, 4))  # (K, h, w)
    return hit / np.maximum(valid.sum(axis=(2, 3)), 1)[None]


def region_share(alpha: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Attention mass on the region: alpha (K, h, w) (each map summing to 1), coverage (K, h, w) -> (K,)."""
    mass = alpha.sum(axis=(1, 2))
    return (alpha * coverage).sum(axis=(1, 2)) / np.maximum(mass, 1e-12)


def key_frame_mask(times: np.ndarray, phases: Sequence[LabelInterval], defects: Sequence[LabelInterval],
                   tolerance_s: float) -> np.ndarray:
    """(K,) bool: frame times inside a defect interval or within ``tolerance_s`` of a phase transition.

    A transition is a boundary between two consecutive phase intervals with different labels.
    """
    times = np.asarray(times, dtype=np.float64)
    key = np.zeros(times.shape, dtype=bool)
    for d in defects:
        key |= (times >= d.start_s) & (times < d.end_s)
    ordered = sorted(phases, key=lambda p: p.start_s)
    for a, b in itertools.pairwise(ordered):
        if a.label != b.label:
            key |= np.abs(times - b.start_s) <= tolerance_s
    return key


def phase_at(times: np.ndarray, phases: Sequence[LabelInterval]) -> np.ndarray:
    """(K,) object array: the phase label at each time ('' where no interval covers it)."""
    out = np.full(np.shape(times), "", dtype=object)
    for p in phases:
        out[(times >= p.start_s) & (times < p.end_s)] = p.label
    return out


def stored_frame_index(info: StreamInfo, rec: Recording, times: np.ndarray) -> np.ndarray:
    """Index of the stored frame the windowed dataset takes for each time (its nearest-frame rule)."""
    if info.regular:
        return np.clip(np.floor((times - info.starting_time) * info.rate + 0.5), 0, info.n - 1).astype(np.int64)
    return nearest_indices(rec.timestamps(info.name), times)


@dataclass
class _Truth:
    rec: Recording
    phases: list[LabelInterval]
    defects: list[LabelInterval]
    xy: dict[str, np.ndarray]  # modality -> (N, 2) stored-frame positions
    mm_per_px: dict[str, float]


def _load_truth(path: Path) -> _Truth:
    rec = Recording(path)
    xy, mm = {}, {}
    with h5py.File(path, "r") as h5:
        group = h5.get("truth")
        if group is not None:
            for name, (key, attr) in TRUTH_KEYS.items():
                if key in group and name in rec.streams and attr in group.attrs:
                    xy[name] = group[key][()].astype(np.float64)
                    mm[name] = float(group.attrs[attr])
    return _Truth(rec, rec.phases, rec.defects, xy, mm)


class _Sums:
    """Running sums of one attribution figure."""

    def __init__(self) -> None:
        self.values: dict[str, list[np.ndarray]] = {}

    def add(self, **arrays: np.ndarray) -> None:
        for k, v in arrays.items():
            self.values.setdefault(k, []).append(np.asarray(v, dtype=np.float64).ravel())

    def mean(self, key: str) -> float | None:
        parts = self.values.get(key)
        if not parts:
            return None
        cat = np.concatenate(parts)
        return float(cat.mean()) if cat.size else None

    def count(self, key: str) -> int:
        return int(sum(len(p) for p in self.values.get(key, [])))


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


@torch.no_grad()
def collect_attribution(model: torch.nn.Module, loader: Iterable[dict], device: torch.device, *,
                        files: Sequence[str | os.PathLike], modalities: Sequence[str], frame_shapes: dict,
                        window_s: float, phases: Sequence[str], defects: Sequence[str], region_mm: float = 3.0,
                        key_tolerance_s: float = 0.05, excluded_phases: Sequence[str] = ("idle",),
                        progress: str | None = None) -> dict:
    """Attribution figures of ``model`` over the windows of ``loader`` (see module docstring).

    Args:
        files: the recording files behind the loader's windows (``/truth`` is read from them).
        modalities: ``DataInfo.names`` (columns of ``present`` / ``modality_weights``).
        frame_shapes: image modality -> (T, H, W) of its windows.
        window_s: window length (s); kept frame k of an image modality sits at ``t0 + k * window_s / T``.
        phases, defects: class names (order of the ``phase`` / ``defects`` tensors).
    """
    if not (np.isfinite(region_mm) and region_mm > 0 and np.isfinite(key_tolerance_s) and key_tolerance_s >= 0):
        raise InvalidInput(f"region_mm must be > 0 and key_tolerance_s >= 0, got {region_mm}, {key_tolerance_s}")
    paths = {e.recording_id: e.path for e in scan(files)}
    truths: dict[str, _Truth] = {}
    nets = msstan_cores(model)
    spatial = {m: _Sums() for m in nets}
    temporal = {m: _Sums() for m in nets}
    weights, present_all, phase_all, defect_all = [], [], [], []
    was_training = model.training
    model.eval()
    bar = tqdm(loader, desc=progress, leave=False, dynamic_ncols=True) if progress else loader
    try:
        for batch in bar:
            batch = to_device(batch, device)
            out = model(batch)
            weights.append(out["modality_weights"].float().cpu().numpy())
            present_all.append(batch["present"].bool().cpu().numpy())
            phase_all.append(batch["phase"].cpu().numpy())
            defect_all.append(batch["defects"].cpu().numpy())
            t0s = batch["t0"].cpu().numpy()
            present = batch["present"].bool().cpu().numpy()
            for b, rid in enumerate(batch["recording_id"]):
                if rid not in truths:
                    if rid not in paths:
                        raise InvalidInput(f"window of recording {rid!r} but no such file among the recordings given")
                    truths[rid] = _load_truth(paths[rid])
                truth = truths[rid]
                for m, net in nets.items():
                    col = list(modalities).index(m)
                    att = out["attention"].get(m)
                    if not present[b, col] or att is None:
                        continue
                    frames = frame_shapes[m][0]
                    kept = att["frame_index"][b].cpu().numpy()  # (T',)
                    times = t0s[b] + kept * (window_s / frames)
                    key = key_frame_mask(times, truth.phases, truth.defects, key_tolerance_s)
                    alpha_t = att["temporal"][b].float().cpu().numpy()  # (T',)
                    if 0 < key.sum() < len(key):
                        temporal[m].add(focus=alpha_t[key].sum(), chance=key.mean())
                    if "frame_scores" in att:  # adaptive sampling: which frames did it keep?
                        every = t0s[b] + np.arange(frames) * (window_s / frames)
                        all_key = key_frame_mask(every, truth.phases, truth.defects, key_tolerance_s)
                        if 0 < all_key.sum() < frames:
                            temporal[m].add(sampled=key.mean(), all_frames=all_key.mean())
                    if m not in truth.xy:
                        continue
                    info = truth.rec.streams[m]
                    idx = stored_frame_index(info, truth.rec, times)
                    use = ~np.isin(phase_at(times, truth.phases), list(excluded_phases))
                    if not use.any():
                        continue
                    stored_h, stored_w = info.shape[1], info.shape[2]
                    height, width = frame_shapes[m][1:]
                    sx, sy = width / stored_w, height / stored_h
                    xy = truth.xy[m][idx[use]]
                    centre = np.stack([(xy[:, 0] + 0.5) * sx - 0.5, (xy[:, 1] + 0.5) * sy - 0.5], axis=1)
                    radius = region_mm / truth.mm_per_px[m] * 0.5 * (sx + sy)
                    alpha_s = att["spatial"][b].float().cpu().numpy()[use]  # (K, h, w)
                    geom = msstan_geometry((height, width), alpha_s.shape[1:], net.patch_embed.patch_size,
                                           net.stages.strides)
                    cov = disc_coverage(geom, centre, radius)
                    spatial[m].add(region=region_share(alpha_s, cov), area=cov.mean(axis=(1, 2)))
    finally:
        model.train(was_training)

    result: dict = {"region_mm": region_mm, "key_tolerance_s": key_tolerance_s,
                    "excluded_phases": list(excluded_phases),
                    "recordings": len(truths),
                    "recordings_with_truth": sorted(r for r, t in truths.items() if t.xy),
                    "spatial": {}, "temporal": {}}
    for m in nets:
        s = spatial[m]
        if s.count("region"):
            share, area = s.mean("region"), s.mean("area")
            result["spatial"][m] = {"region_share": share, "area_share": area, "lift": _ratio(share, area),
                                    "background_share": 1.0 - share, "n_frames": s.count("region")}
        t = temporal[m]
        if t.count("focus"):
            focus, chance = t.mean("focus"), t.mean("chance")
            row = {"keyframe_focus": focus, "key_frame_share": chance, "lift": _ratio(focus, chance),
                   "n_windows": t.count("focus")}
            if t.count("sampled"):
                row.update(sampler_key_share=t.mean("sampled"), key_share_all_frames=t.mean("all_frames"),
                           sampler_windows=t.count("sampled"))
            result["temporal"][m] = row
    lead = next((m for m in ("video", "thermal") if m in result["spatial"]), None)
    result["background_noise"] = result["spatial"][lead]["background_share"] if lead else None
    lead_t = next((m for m in ("video", "thermal") if m in result["temporal"]), None)
    result["keyframe_focus"] = result["temporal"][lead_t]["keyframe_focus"] if lead_t else None
    result["headline_modality"] = {"background_noise": lead, "keyframe_focus": lead_t}
    if not weights:
        raise InvalidInput("no windows to attribute (empty data split)")
    result.update(modality_weights_by_class(np.concatenate(weights), np.concatenate(present_all),
                                            np.concatenate(phase_all), np.concatenate(defect_all),
                                            modalities, phases, defects))
    return result


def modality_weights_by_class(weights: np.ndarray, present: np.ndarray, phase: np.ndarray, defects: np.ndarray,
                              modalities: Sequence[str], phase_names: Sequence[str],
                              defect_names: Sequence[str]) -> dict:
    """Mean modality weights (rows sum to 1) per defect class and per phase, over windows with every
    modality present.

    weights, present: (N, M); phase: (N,) int; defects: (N, D) multi-hot. Returns
    ``{"modality_weights_per_defect": {class | "none": {modality: w, "n_windows": n}},
    "modality_weights_per_phase": {...}, "modality_weights_windows": n_all_present}``.
    """
    full = present.all(axis=1)
    w, ph, de = weights[full], phase[full], defects[full] > 0.5

    def mean_row(mask: np.ndarray) -> dict:
        row = {m: (float(w[mask, i].mean()) if mask.any() else None) for i, m in enumerate(modalities)}
        row["n_windows"] = int(mask.sum())
        return row

    per_defect = {name: mean_row(de[:, d]) for d, name in enumerate(defect_names)}
    per_defect["none"] = mean_row(~de.any(axis=1))
    per_phase = {name: mean_row(ph == k) for k, name in enumerate(phase_names)}
    return {"modality_weights_per_defect": per_defect, "modality_weights_per_phase": per_phase,
            "modality_weights_windows": int(full.sum())}
