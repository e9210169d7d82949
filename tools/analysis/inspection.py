"""``weldfusion inspect FILE.h5 [--plot PNG]``: streams, rates, gaps, labels and validator findings.

The library behind ``weldfusion inspect_recording`` (the verb only parses its arguments).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from weldfusion.datasets.reader import Recording, StreamInfo
from weldfusion.recipes.weld import SeamConfig
from weldfusion.sensors.registry import modality_names
from weldfusion.tools.outputs import save_figure
from weldfusion.tools.welds.process import process_trace

#: Bins per trace in the plot (long streams are reduced block by block to this many bins; fast
#: signals are drawn as the min/max envelope of each bin with the bin's mean or RMS on top).
PLOT_POINTS = 800


_BLOCK_BYTES = 16 << 20


def ordered_streams(rec: Recording) -> list[tuple[str, StreamInfo]]:
    """Streams in canonical modality order (video, thermal, acoustic, electrical, others)."""
    order = {name: i for i, name in enumerate(modality_names())}
    return sorted(rec.streams.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def stream_lines(rec: Recording) -> list[str]:
    """One line per stream."""
    lines = []
    for name, s in ordered_streams(rec):
        timing = f"{s.rate:g} Hz" if s.rate else "? Hz"
        timing += "" if s.regular else " (timestamps)"
        channels = ""
        if s.channel_names:
            units = s.attrs.get("channel_units")
            units = units if isinstance(units, list) else [s.units] * len(s.channel_names)
            channels = " [" + ", ".join(f"{c} {u}" for c, u in zip(s.channel_names, units, strict=False)) + "]"
        gaps = f"{len(s.gaps)} gaps ({float(np.sum(s.gaps[:, 1] - s.gaps[:, 0])):.3f} s)" if len(s.gaps) else "no gaps"
        lines.append(
            f"{name:<11} {s.n:>9} x {str(s.sample_shape):<13} {str(s.dtype):<8} {timing:<18} "
            f"[{s.t_start:.4f}, {s.t_end:.4f}) s = {s.t_end - s.t_start:.4f} s  {s.units}{channels}  {gaps}"
        )
    return lines


def label_lines(rec: Recording) -> list[str]:
    """Label counts (and total seconds) per table and label."""
    lines = []
    for table in ("phases", "defects"):
        rows = rec.labels(table)
        counts = Counter(r.label for r in rows)
        seconds = Counter()
        for r in rows:
            seconds[r.label] += r.end_s - r.start_s
        body = ", ".join(f"{lab} {counts[lab]} ({seconds[lab]:.2f} s)" for lab in sorted(counts)) or "none"
        lines.append(f"{table:<8} {len(rows):>4} intervals: {body}")
    return lines


def trace(rec: Recording, info: StreamInfo, points: int = PLOT_POINTS
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(times (M,), values (M, C), low (M, C), high (M, C))`` of a stream reduced to at most
    ``points`` bins, block by block.

    Images: mean of each frame; sound: RMS per bin; other signals: mean per bin. ``low``/``high``
    are the per-bin minimum and maximum (the envelope a 5 kHz signal draws as a band otherwise).
    """
    n = info.n
    per_sample = int(np.prod(info.sample_shape, dtype=np.int64)) * info.dtype.itemsize
    step = max(1, int(np.ceil(n / points)))
    block = max(step, (_BLOCK_BYTES // max(1, per_sample)) // step * step)
    times, values, lows, highs = [], [], [], []
    image = len(info.sample_shape) >= 2
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        x = rec.read_index(info.name, i0, i1).astype(np.float64)
        x = x.reshape(len(x), -1).mean(axis=1, keepdims=True) if image else x.reshape(len(x), -1)
        t = rec.times(info.name, i0, i1)
        m = int(np.ceil(len(x) / step))
        edges = np.arange(m) * step
        lows.append(np.minimum.reduceat(x, edges, axis=0))
        highs.append(np.maximum.reduceat(x, edges, axis=0))
        if info.name == "acoustic":
            x = x * x
        sums = np.add.reduceat(x, edges, axis=0)
        counts = np.diff(np.append(edges, len(x)))[:, None]
        v = sums / counts
        times.append(t[edges])
        values.append(np.sqrt(v) if info.name == "acoustic" else v)
    return np.concatenate(times), np.concatenate(values), np.concatenate(lows), np.concatenate(highs)


def _in_order(labels: set[str], order: tuple[str, ...]) -> list[str]:
    """``labels`` in taxonomy order, unknown ones last (alphabetically)."""
    return sorted(labels, key=lambda lab: (order.index(lab) if lab in order else len(order), lab))


def plot(rec: Recording, out: Path) -> None:
    """All streams on the common time axis (fast signals as min/max envelopes with their bin mean),
    arc power and heat input, phases as coloured bands, defects as hatched bands."""

    matplotlib.use("Agg")

    rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, str]] = []
    for name, info in ordered_streams(rec):
        t, v, lo, hi = trace(rec, info)
        if len(info.sample_shape) >= 2:
            rows.append((f"{name}\nmean ({info.units})", t, v[:, 0], lo[:, 0], hi[:, 0], name))
        elif name == "acoustic":
            for c, ch in enumerate(info.channel_names or ("",)):
                rows.append((f"{name} {ch}\nRMS ({info.units})", t, v[:, c], None, None, name))
        else:
            units = info.attrs.get("channel_units")
            for c, ch in enumerate(info.channel_names or [f"ch{i}" for i in range(v.shape[1])]):
                unit = units[c] if isinstance(units, list) else info.units
                rows.append((f"{ch}\n({unit})", t, v[:, c], lo[:, c], hi[:, c], name))
    proc = process_trace(rec, nominal_speed_mm_s=SeamConfig().nominal(str(rec.meta.get("process"))))
    if np.isfinite(proc.channels["power"]).any():
        what = "spindle power" if proc.sensor == "fsw_machine" else "arc power"
        rows.append((f"{what}\n(kW)", proc.t, proc.channels["power"] / 1000.0, None, None, "power"))
    if np.isfinite(proc.channels["heat_input"]).any():
        heat = np.where(proc.arc_on, proc.channels["heat_input"], np.nan)
        when = "tool in plate" if proc.sensor == "fsw_machine" else "arc on"
        rows.append((f"heat input\n(kJ/mm, {when})", proc.t, heat, None, None, "heat_input"))
    phases, defects = rec.phases, rec.defects
    stored = rec.label_names or ((), ())
    names = _in_order({p.label for p in phases}, stored[0])
    defect_names = _in_order({d.label for d in defects}, stored[1])
    n_rows = len(rows) + 1
    fig, axes = plt.subplots(n_rows, 1, sharex=True, figsize=(12, 1.3 * n_rows + 0.8), squeeze=False)
    axes = axes[:, 0]
    cmap = plt.get_cmap("tab10")
    colors = {lab: cmap(i % 10) for i, lab in enumerate(names)}
    for ax, (label, t, v, lo, hi, _) in zip(axes, rows, strict=False):  # the last axis is the label track
        for p in phases:
            ax.axvspan(p.start_s, p.end_s, color=colors[p.label], alpha=0.18, lw=0)
        if lo is not None:  # min/max envelope of a fast signal, its bin mean on top
            ax.fill_between(t, lo, hi, color="0.55", lw=0, alpha=0.6)
        ax.plot(t, v, lw=0.7, color="k")
        ax.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
    track = axes[-1]
    for p in phases:
        track.axvspan(p.start_s, p.end_s, ymin=0.5, ymax=1.0, color=colors[p.label], alpha=0.6, lw=0)
    lane = 0.45 / max(1, len(defect_names))  # one lane per defect class: overlapping defects stay readable
    for d in defects:
        k = defect_names.index(d.label)
        lo, hi = k * lane, (k + 1) * lane - 0.01
        track.axvspan(d.start_s, d.end_s, ymin=lo, ymax=hi, facecolor="none", edgecolor="tab:red", hatch="///",
                      lw=0.8)
        track.text((d.start_s + d.end_s) / 2, (lo + hi) / 2, d.label, ha="center", va="center", fontsize=6,
                   transform=track.get_xaxis_transform())
    track.set_ylim(0, 1)
    track.set_yticks([0.225, 0.75], ["defects", "phases"], fontsize=7)
    track.set_xlabel("time on the recording clock (s)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[n], alpha=0.6) for n in names]
    if handles:
        fig.legend(handles, names, loc="upper center", ncol=len(names), fontsize=7, frameon=False)
    title = f"{rec.meta.get('recording_id', rec.path.stem)}  {rec.meta.get('material_pair', '')}  " \
            f"{rec.meta.get('process', '')}" + (f"  defects: {', '.join(defect_names)}" if defect_names else "")
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    save_figure(fig, out, dpi=110)
