"""``weldfusion probe DIR [--json FILE]``: how complementary are the sensors of a data set?

The library behind ``weldfusion probe`` (the verb only parses its arguments).
"""

from __future__ import annotations

import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm
from weldfusion.datasets.config import DataConfig
from weldfusion.datasets.labels import IGNORE_PHASE, defect_labels, phase_labels, recording_span, window_starts
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.schema import TIME_EPS
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, Taxonomy, process_taxonomy
from weldfusion.sensors.registry import modality_names

#: Windows and labels as the model's data has them (the recipe defaults of ``data:``;
#: rules in :mod:`weldfusion.datasets.labels`).
WINDOWS = DataConfig()


WINDOW_S, HOP_S = WINDOWS.window_s, WINDOWS.hop_s


#: A modality falls short on a label when its F1 is this far below the best other modality's...
SHORTFALL = 0.25


#: ...and that other modality reaches at least this F1.
GETS_IT = 0.5


# -- window statistics -----------------------------------------------------------------------------
def _pct(x: np.ndarray, q=(5, 50, 95)) -> list[float]:
    return list(np.percentile(x, q))


def _band_energies(x: np.ndarray, rate: float, edges: list[float]) -> list[float]:
    """log10 energy of ``x`` (S,) in frequency bands [edges[i], edges[i+1]) Hz."""
    spec = np.abs(np.fft.rfft(x - x.mean())) ** 2 / max(x.size, 1)
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    return [float(np.log10(spec[(freqs >= lo) & (freqs < hi)].sum() + 1e-12)) for lo, hi in itertools.pairwise(edges)]


def _signal_stats(x: np.ndarray, rate: float, bands: list[float] | None) -> list[float]:
    x = x.astype(np.float64)
    sd = x.std() + 1e-12
    kurt = float(((x - x.mean()) ** 4).mean() / sd**4)
    slope = _line_change(x) * rate / max(x.size - 1, 1)  # least-squares trend per s
    f = [x.mean(), sd, *_pct(x, (1, 5, 50, 95, 99)), np.abs(np.diff(x)).mean(), kurt, slope]
    if bands:
        f += _band_energies(x, rate, [b for b in bands if b < rate / 2] + [rate / 2])
    return f


def _centred_fraction(n: int) -> np.ndarray:
    """(n,) sample positions as fractions of the series, centred: -0.5 .. 0.5 (n >= 2)."""
    return np.arange(n) / (n - 1) - 0.5


def _line_change(y: np.ndarray) -> float:
    """Change from the first to the last sample of the least-squares line through ``y`` (T,); 0 for T < 2."""
    if y.size < 2:
        return 0.0
    u = _centred_fraction(y.size)
    return float((u * (y - y.mean())).sum() / (u * u).sum())


def _trend(y: np.ndarray) -> list[float]:
    """Least-squares line through the series ``y`` (T,): [change across it, |change| / residual std].

    The second value is scale-free: a steady ramp stands out against the series' own flicker."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return [0.0, 0.0]
    change = _line_change(y)
    resid = y - y.mean() - change * _centred_fraction(y.size)
    return [change, abs(change) / (float(resid.std()) + 1e-6)]


def _envelope_trend(x: np.ndarray, rate: float, bin_s: float = 0.02) -> list[float]:
    """:func:`_trend` of the RMS envelope of ``x`` (S,) in ``bin_s`` bins, and of its log."""
    n = max(1, int(round(rate * bin_s)))
    k = x.size // n
    if k < 2:
        return [0.0] * 4
    rms = np.sqrt((x[: k * n].astype(np.float64).reshape(k, n) ** 2).mean(axis=1))
    return _trend(rms) + _trend(np.log(rms + 1e-9))


def _pool(x: np.ndarray, gh: int, gw: int) -> list[float]:
    """Mean of (T, H, W) over time and a gh x gw grid of image blocks -> gh * gw values."""
    m = x.mean(axis=0)
    return [float(b.mean()) for rows in np.array_split(m, gh, axis=0) for b in np.array_split(rows, gw, axis=1)]


def _ridges(x: np.ndarray) -> list[float]:
    """Line detectors: 1st/99th percentiles of the second differences across rows and across columns."""
    d2y = x[:, 2:, :] - 2 * x[:, 1:-1, :] + x[:, :-2, :]
    d2x = x[:, :, 2:] - 2 * x[:, :, 1:-1] + x[:, :, :-2]
    return [*_pct(d2y, (1, 99)), *_pct(d2x, (1, 99))]


def video_features(frames: np.ndarray) -> list[float]:
    """Statistics of a window of grey frames (T, H, W)."""
    x = frames.astype(np.float32)
    t, h, w = x.shape
    sub = x[:: max(1, t // 16)]
    fm = x.mean(axis=(1, 2))
    wts = x**2 + 1e-6
    cx = (wts * np.arange(w)).sum(axis=(1, 2)) / wts.sum(axis=(1, 2))
    cy = (wts * np.arange(h)[:, None]).sum(axis=(1, 2)) / wts.sum(axis=(1, 2))
    diff = np.abs(np.diff(x, axis=0)).mean() if t > 1 else 0.0
    gy, gx = np.abs(np.diff(sub, axis=1)), np.abs(np.diff(sub, axis=2))
    grid = _pool(sub, 4, 4)
    return [x.mean(), x.std(), *_pct(sub, (50, 90, 99)), fm.std(), fm.min(), fm.max(), (x >= 250).mean(), (x < 15).mean(),
            diff, gy.mean(), gx.mean(), *_pct(gy, (90, 99)), *_pct(gx, (90, 99)), *_ridges(sub), cx.mean(), cx.std(),
            cy.mean(), cy.std(), *grid, *_trend(fm), *_trend((x >= 200).mean(axis=(1, 2)))]


def thermal_features(frames: np.ndarray) -> list[float]:
    """Statistics of a window of temperature maps (T, H, W) degC."""
    x = frames.astype(np.float32)
    t, h, _w = x.shape
    fm = x.mean(axis=(1, 2))
    grid = _pool(x, 2, 4)
    rows = x.mean(axis=(0, 2))
    diff = np.abs(np.diff(x, axis=0)).mean() if t > 1 else 0.0
    gy, gx = np.abs(np.diff(x, axis=1)), np.abs(np.diff(x, axis=2))
    hot_row = np.argmax(x.max(axis=2), axis=1)
    hot300, hot800 = (x > 300).mean(axis=(1, 2)), (x > 800).mean(axis=(1, 2))  # (T,) hot-area share per frame
    return [x.mean(), x.std(), *_pct(x, (50, 90, 99)), x.max(), fm.std(), diff, gy.mean(), gx.mean(), *_pct(gy, (90, 99)),
            *_pct(gx, (90, 99)), *_ridges(x), hot300.mean(), hot800.mean(), hot_row.mean(), hot_row.std(),
            rows[: h // 2].mean() - rows[h // 2 :].mean(), *grid, *_trend(fm), *_trend(hot300), *_trend(hot800)]


def acoustic_features(x: np.ndarray, rate: float) -> list[float]:
    """Statistics of (S,) or (S, C) sound (channel 0 = mic, 1 = acoustic emission)."""
    x = x.reshape(x.shape[0], -1)
    f = _signal_stats(x[:, 0], rate, [0, 250, 500, 1000, 2000, 4000, 8000]) + _envelope_trend(x[:, 0], rate)
    if x.shape[1] > 1:
        f += _signal_stats(x[:, 1], rate, [0, 20e3, 60e3, 100e3, 200e3, 400e3])
    return f


def electrical_features(x: np.ndarray, rate: float) -> list[float]:
    """Statistics of (S, 4) current, voltage, wire feed, travel speed."""
    bands = [0, 10, 50, 200, 500, 1000, 2500]
    f: list[float] = []
    for c in range(x.shape[1]):
        f += _signal_stats(x[:, c], rate, bands if c < 2 else None)
    return f


def fsw_machine_features(x: np.ndarray, rate: float) -> list[float]:
    """Statistics of (S, 5) torque, axial force, spindle speed, traverse speed, plunge depth (the
    torque and force with their band powers: the rotation line, stick-slip)."""
    bands = [0, 10, 30, 80, 200, 500]
    f: list[float] = []
    for c in range(x.shape[1]):
        f += _signal_stats(x[:, c], rate, bands if c < 2 else None)
    return f


#: The sensors the probe has window statistics for (others in the files — the laser monitor, acoustic
#: emission — are left out of the probe, not an error).
PROBED = ("video", "thermal", "acoustic", "electrical", "fsw_machine")


def window_features(modality: str, seg: np.ndarray, rate: float) -> list[float]:
    """Statistics of one modality's samples inside a window (see the per-modality functions)."""
    if modality == "video":
        return video_features(seg)
    if modality == "thermal":
        return thermal_features(seg)
    if modality == "acoustic":
        return acoustic_features(seg, rate)
    if modality == "electrical":
        return electrical_features(seg, rate)
    if modality == "fsw_machine":
        return fsw_machine_features(seg, rate)
    raise InvalidInput(f"probe has no statistics for modality {modality!r}")


# -- data set --------------------------------------------------------------------------------------
def _stream(rec: Recording, name: str):
    if name not in rec.streams:
        return None
    info = rec.streams[name]
    data, times = rec.read(name, info.t_start, info.t_end)
    return data, times, info


def data_taxonomy(files: list[Path]) -> Taxonomy:
    """The label taxonomy of ``files``' processes (:func:`~weldfusion.recipes.taxonomy.process_taxonomy`);
    one-line error when they mix taxonomies (probe arc and FSW welds separately)."""
    found: dict[Taxonomy, str] = {}
    for path in files:
        with Recording(path) as rec:
            process = str(rec.meta.get("process", ""))
        found.setdefault(process_taxonomy(process), f"{path} ({process})")
    if len(found) > 1:
        raise InvalidInput("probe: the recordings are labelled in different taxonomies ("
                           + "; ".join(found.values()) + "): probe one process family at a time")
    return next(iter(found), DEFAULT_TAXONOMY)


def collect(files: list[Path]) -> dict:
    """Features per modality (NaN rows where absent), labels and groups for all windows of ``files``."""
    tax = data_taxonomy(files)
    mods = tuple(m for m in modality_names() if m in PROBED)
    feats: dict[str, list] = {m: [] for m in mods}
    present: list[list[bool]] = []
    y_phase, y_def, groups, pairs = [], [], [], []
    dims: dict[str, int] = {}
    for path in tqdm(files, unit="rec", desc="probe", file=sys.stderr):
        with Recording(path) as rec:
            phases, defects = rec.phases, rec.defects
            streams = {m: _stream(rec, m) for m in mods}
            t0s = window_starts(recording_span([i for i in rec.streams.values() if i.n > 0], (*phases, *defects)), WINDOW_S, HOP_S)
            win_phase = phase_labels(phases, t0s, WINDOW_S, tax.phases)
            win_defects = defect_labels(defects, t0s, WINDOW_S, tax.defects, WINDOWS.defect_overlap_threshold)
            for t0, ph, hot in zip(t0s, win_phase, win_defects, strict=True):
                if ph == IGNORE_PHASE:  # unlabelled, as the training data leaves it out
                    continue
                t1 = t0 + WINDOW_S
                row = []
                for m in mods:
                    s = streams[m]
                    ok = s is not None and rec.gap_coverage(m, t0, t1) <= WINDOWS.gap_threshold + TIME_EPS
                    vec = None
                    if ok:
                        data, times, info = s
                        i0, i1 = np.searchsorted(times, [t0 - TIME_EPS, t1 - TIME_EPS])
                        seg = data[i0:i1]
                        if seg.shape[0] >= 2:
                            vec = window_features(m, seg, info.rate)
                    if vec is not None:
                        dims.setdefault(m, len(vec))
                        if len(vec) != dims[m]:
                            raise InvalidInput(f"{path}: stream {m} differs in channels from earlier recordings")
                    feats[m].append(vec)
                    row.append(vec is not None)
                present.append(row)
                y_phase.append(int(ph))
                y_def.append(hot.astype(np.int8))
                groups.append(rec.meta["recording_id"])
                pairs.append(rec.meta["material_pair"])
    seen = np.array(present).reshape(-1, len(mods)).any(axis=0)  # sensors no recording has are left out
    keep = [j for j in range(len(mods)) if seen[j]]
    present = [[row[j] for j in keep] for row in present]
    mods = tuple(mods[j] for j in keep)
    arrays = {}
    for m in mods:
        d = dims.get(m, 1)
        arrays[m] = np.array([v if v is not None else [np.nan] * d for v in feats[m]], dtype=np.float64)
    return {"X": arrays, "present": np.array(present), "phase": np.array(y_phase), "defects": np.array(y_def),
            "groups": np.array(groups), "pairs": np.array(pairs), "modalities": mods, "taxonomy": tax}


# -- probing -----------------------------------------------------------------------------------------
def _oof_predict(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> np.ndarray:

    pred = np.zeros_like(y)
    for train, test in GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y, groups):
        classes = np.unique(y[train])
        if classes.size < 2:
            pred[test] = classes[0]
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000, class_weight="balanced"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(x[train], y[train])
        pred[test] = clf.predict(x[test])
    return pred


def _with_deviation(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """[x, x - median of its recording]: each window also as a deviation from its run's typical window."""
    dev = np.zeros_like(x)
    for g in np.unique(groups):
        rows = groups == g
        med = np.nanmedian(x[rows], axis=0) if np.isfinite(x[rows]).any() else np.zeros(x.shape[1])
        dev[rows] = x[rows] - med
    return np.concatenate([x, dev], axis=1)


def shortfalls(f1: dict[str, dict[str, float]], mods: list[str]) -> dict[str, list[dict]]:
    """Per modality: the labels (single phases and defects) where its F1 is at least SHORTFALL below
    the best other modality's, and that one reaches GETS_IT."""
    labels = [k for k in f1[mods[0]] if k not in ("phase.macro_f1", "defect.mean_f1")]
    out: dict[str, list[dict]] = {}
    for m in mods:
        rows = []
        for k in labels:
            others = {o: f1[o].get(k, 0.0) for o in mods if o != m}
            best = max(others, key=others.get)
            if others[best] >= GETS_IT and f1[m].get(k, 0.0) <= others[best] - SHORTFALL:
                rows.append({"label": k, "f1": round(f1[m].get(k, 0.0), 3), "gets_it": best, "their_f1": round(others[best], 3)})
        out[m] = rows
    return out


def probe(data: dict, folds: int = 3, seed: int = 0) -> dict:
    """Per-label F1 per modality (and all together) on the windows where all modalities are valid."""

    tax = data.get("taxonomy", DEFAULT_TAXONOMY)
    mods = list(data["modalities"])
    keep = data["present"].all(axis=1)
    n_groups = np.unique(data["groups"][keep]).size
    if keep.sum() < 20 or n_groups < folds:
        raise InvalidInput(f"probe needs >= {folds} recordings with all of {', '.join(mods)} present (have {n_groups})")
    groups = data["groups"][keep]
    pair_names = sorted(set(data["pairs"]))
    onehot = (data["pairs"][keep, None] == np.array(pair_names)[None, :]).astype(np.float64)  # (N, P) metadata
    sets = {m: _with_deviation(data["X"][m], data["groups"])[keep] for m in mods}
    sets["all"] = np.concatenate([sets[m] for m in mods], axis=1)
    if len(mods) > 2:
        sets.update({f"without_{m}": np.concatenate([sets[o] for o in mods if o != m], axis=1) for m in mods})
    sets = {k: np.concatenate([v, onehot], axis=1) for k, v in sets.items()}
    y_phase = data["phase"][keep]
    y_def = data["defects"][keep]
    f1: dict[str, dict[str, float]] = {}
    for name, x in tqdm(sets.items(), unit="set", desc="fit", file=sys.stderr):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        res: dict[str, float] = {}
        p = _oof_predict(x, y_phase, groups, folds, seed)
        per = f1_score(y_phase, p, labels=range(len(tax.phases)), average=None, zero_division=0)
        res["phase.macro_f1"] = float(np.mean(per))
        res.update({f"phase.{k}": float(v) for k, v in zip(tax.phases, per)})
        dvals = []
        for i, k in enumerate(tax.defects):
            if y_def[:, i].sum() == 0:
                continue
            pd_ = _oof_predict(x, y_def[:, i], groups, folds, seed)
            res[f"defect.{k}"] = float(f1_score(y_def[:, i], pd_, zero_division=0))
            dvals.append(res[f"defect.{k}"])
        res["defect.mean_f1"] = float(np.mean(dvals)) if dvals else 0.0
        f1[name] = res
    falls = shortfalls(f1, mods)
    counts = {
        "phases": {k: int((y_phase == i).sum()) for i, k in enumerate(tax.phases)},
        "defects": {k: int(y_def[:, i].sum()) for i, k in enumerate(tax.defects)},
    }
    return {
        "windows": int(keep.sum()),
        "windows_total": int(keep.size),
        "recordings": int(n_groups),
        "folds": folds,
        "window_s": WINDOW_S,
        "hop_s": HOP_S,
        "label_windows": counts,
        "f1": f1,
        "shortfalls": falls,
        "complementary": all(falls[m] for m in mods),
    }


def format_table(result: dict) -> str:
    singles = [m for m in result["f1"] if m != "all" and not m.startswith("without_")]
    cols = [*singles, "all", *[c for c in result["f1"] if c.startswith("without_")]]
    heads = [c.replace("without_", "w/o ") for c in cols]
    widths = [max(11, len(h) + 2) for h in heads]
    lines = [f"{'F1':<26}" + "".join(f"{h:>{w}}" for h, w in zip(heads, widths))]
    for k in result["f1"]["all"]:
        lines.append(f"{k:<26}" + "".join(f"{result['f1'][c].get(k, float('nan')):>{w}.2f}" for c, w in zip(cols, widths)))
    lines.append("")
    lines.append(f"{result['windows']} windows of {result['recordings']} recordings (all sensors valid; "
                 f"{result['windows_total']} in all), {result['folds']}-fold recording-level cross-validation")
    for m, rows in result["shortfalls"].items():
        text = "; ".join(f"{r['label']} {r['f1']:.2f} vs {r['gets_it']} {r['their_f1']:.2f}" for r in rows) or "-"
        lines.append(f"{m} alone falls short on: {text}")
    shown = "yes, every modality misses a label another one gets" if result["complementary"] else "NO"
    lines.append("complementarity shown: " + shown)
    return "\n".join(lines)
