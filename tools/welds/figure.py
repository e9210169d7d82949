"""The timeline figure of one weld: what an engineer looks at instead of reading the tables.

One time axis (with mm along the seam on top): arc power and current min/max envelopes (a friction
stir weld: spindle power, torque and axial force); IR
max/mean temperature, video brightness and microphone RMS (per-window traces of the recording);
the predicted phase band above the labelled one (when labelled); defect probabilities with
their thresholds and the events shaded; limit violations marked; a seam map (events as bars in
mm, by class); thumbnails of the video and IR frames at the strongest window of each event.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from weldfusion.datasets.reader import Recording  # noqa: E402
from weldfusion.tools.outputs import save_figure
from weldfusion.tools.welds.process import ProcessTrace  # noqa: E402
from weldfusion.tools.welds.timeline import Event, Timeline  # noqa: E402

PHASE_COLOURS = plt.get_cmap("tab10")
DEFECT_COLOURS = plt.get_cmap("Set1")
MAX_THUMBS = 4


def _per_sample(rec: Recording, name: str, how: str, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(times (N,), value (N,)) of one stream read once, block by block: the mean or max of each frame,
    or the square of each sound sample (first channel)."""
    info = rec.streams[name]
    out = []
    for i0 in range(0, info.n, block):
        x = np.asarray(rec.read_index(name, i0, min(info.n, i0 + block)), dtype=np.float64)
        x = x.reshape(len(x), -1)
        out.append(x[:, 0] ** 2 if how == "square" else (x.max(axis=1) if how == "max" else x.mean(axis=1)))
    return rec.times(name, 0, info.n), np.concatenate(out) if out else np.zeros(0)


def sensor_traces(rec: Recording, centres: np.ndarray, window_s: float) -> dict[str, np.ndarray]:
    """Per-window summaries (N,) of the image and sound streams: video brightness, IR mean / max
    (degC), microphone RMS — each over [centre - window/2, centre + window/2), every stream read once."""
    specs = {"video brightness": ("video", "mean"), "IR mean degC": ("thermal", "mean"),
             "IR max degC": ("thermal", "max"), "mic RMS": ("acoustic", "square")}
    out: dict[str, np.ndarray] = {}
    for key, (name, how) in specs.items():
        info = rec.streams.get(name)
        if info is None or info.n == 0:
            continue
        t, v = _per_sample(rec, name, how)
        i0 = np.searchsorted(t, centres - window_s / 2)
        i1 = np.searchsorted(t, centres + window_s / 2)
        vals = np.full(len(centres), np.nan)
        for k, (a, b) in enumerate(zip(i0, i1, strict=True)):
            if b > a:
                seg = v[a:b]
                vals[k] = seg.max() if how == "max" else (np.sqrt(seg.mean()) if how == "square" else seg.mean())
        out[key] = vals
    return out


def _band(ax, segments, phases, y, label):
    for s in segments:
        ax.axvspan(s[1], s[2], ymin=y, ymax=y + 0.45, color=PHASE_COLOURS(phases.index(s[0]) % 10), lw=0)
    ax.text(0.0, y + 0.22, label, transform=ax.transAxes, fontsize=7, va="center", ha="right")


def _thumb(rec: Recording, name: str, t: float) -> np.ndarray | None:
    info = rec.streams.get(name)
    if info is None or info.n == 0:
        return None
    data, _ = rec.read(name, t - 0.5 / max(info.rate, 1.0), t + 0.5 / max(info.rate, 1.0) + 1e-6)
    if not len(data):
        i0, _ = rec.index_range(name, t, t + 1e-6)
        data = rec.read_index(name, min(i0, info.n - 1), min(i0, info.n - 1) + 1)
    frame = np.asarray(data[0], dtype=np.float64)
    return frame.mean(axis=-1) if frame.ndim == 3 else frame


def timeline_figure(tl: Timeline, trace: ProcessTrace, events: list[Event], segments, thresholds, out: Path,
                    verdict: str = "") -> Path:
    """Draw the figure of one weld into ``out`` (PNG, written to a temporary name and renamed)."""
    with Recording(tl.path) as rec:
        traces = sensor_traces(rec, tl.centres, tl.window_s)
        strongest = []
        for e in [e for e in events if e.source == "model"][:MAX_THUMBS]:
            k = tl.defects.index(e.label)
            sel = (tl.centres >= e.start_s) & (tl.centres <= e.end_s)
            i = int(np.flatnonzero(sel)[np.argmax(tl.defect_probs[sel, k])]) if sel.any() else 0
            strongest.append((e, float(tl.centres[i]), _thumb(rec, "video", tl.centres[i]),
                              _thumb(rec, "thermal", tl.centres[i])))
    n_thumb_rows = 1 if strongest else 0
    fig = plt.figure(figsize=(12, 11 + 1.6 * n_thumb_rows))
    grid = fig.add_gridspec(6 + n_thumb_rows, max(1, 2 * len(strongest)),
                            height_ratios=[1.3, 1.2, 0.7, 1.5, 0.8, 0.01] + [1.4] * n_thumb_rows)
    axes = [fig.add_subplot(grid[i, :]) for i in range(5)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    t = trace.t
    ax = axes[0]
    if np.isfinite(trace.channels["power"]).any():
        fsw = trace.sensor == "fsw_machine"  # a friction stir weld: the spindle's power, torque and force
        ax.plot(t, trace.channels["power"] / 1000, color="tab:red", lw=0.8,
                label="spindle power kW" if fsw else "arc power kW")
        ax2 = ax.twinx()
        if fsw:
            ax2.plot(t, trace.channels["torque"], color="tab:blue", lw=0.8, label="torque N m")
            ax2.plot(t, trace.channels["axial_force"], color="tab:green", lw=0.8, ls="--", label="axial force kN")
            ax2.set_ylabel("N m / kN", fontsize=7)
            ax2.legend(fontsize=6, loc="upper right")
        else:
            ax2.fill_between(t, trace.channels["current_min"], trace.channels["current_max"], color="tab:blue",
                             alpha=0.25, lw=0, label="current min/max A")
            ax2.set_ylabel("A", fontsize=7)
        ax.set_ylabel("kW", fontsize=7)
        hi = trace.channels["heat_input"]
        if np.isfinite(hi).any():
            ax.text(0.01, 0.9, f"heat input while welding: {np.nanmean(hi[trace.arc_on]) if trace.arc_on.any() else np.nan:.3f}"
                    " kJ/mm", transform=ax.transAxes, fontsize=7)
    for e in events:
        if e.source == "limits":
            ax.axvspan(e.start_s, e.end_s, color="k", alpha=0.12, lw=0)
            ax.text(e.start_s, ax.get_ylim()[1], e.label, fontsize=6, va="top", rotation=90)
    ax.set_title(f"{tl.recording_id}  {tl.meta.get('material_pair', '')} {tl.meta.get('process', '')}"
                 + (f"  —  verdict: {verdict}" if verdict else ""), fontsize=9)
    top = ax.secondary_xaxis("top", functions=(lambda x: np.interp(x, t, trace.position_mm),
                                                lambda mm: np.interp(mm, trace.position_mm, t)))
    top.set_xlabel(f"mm along the seam ({trace.position_source})", fontsize=7)
    ax = axes[1]
    for k, (name, v) in enumerate(traces.items()):
        finite = v[np.isfinite(v)]
        if len(finite):
            span = np.ptp(finite) or 1.0
            ax.plot(tl.centres, (v - finite.min()) / span + 1.1 * k, lw=0.9, label=name)
    ax.set_yticks([])
    ax.legend(fontsize=6, loc="upper right", ncol=4)
    ax.set_ylabel("sensors\n(scaled)", fontsize=7)
    ax = axes[2]
    ax.set_yticks([])
    pred = [(s.phase, s.start_s, s.end_s) for s in segments]
    _band(ax, pred, tl.phases, 0.52, "predicted")
    truth = [(p.label, p.start_s, p.end_s) for p in tl.labels.get("phases", [])]
    if truth:
        _band(ax, truth, tl.phases, 0.02, "labelled")
    handles = [plt.Rectangle((0, 0), 1, 1, color=PHASE_COLOURS(i % 10)) for i in range(len(tl.phases))]
    ax.legend(handles, tl.phases, fontsize=6, ncol=len(tl.phases), loc="upper center", bbox_to_anchor=(0.5, -0.05))
    ax = axes[3]
    for k, name in enumerate(tl.defects):
        c = DEFECT_COLOURS(k % 9)
        ax.plot(tl.centres, tl.defect_probs[:, k], color=c, lw=0.9, label=name)
        ax.axhline(thresholds[k], color=c, lw=0.5, ls=":")
    for e in events:
        if e.source == "model":
            ax.axvspan(e.start_s, e.end_s, color=DEFECT_COLOURS(tl.defects.index(e.label) % 9), alpha=0.18, lw=0)
    for d in tl.labels.get("defects", []):
        if d.label in tl.defects:
            ax.plot([d.start_s, d.end_s], [1.04, 1.04], color=DEFECT_COLOURS(tl.defects.index(d.label) % 9), lw=3)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("defect prob.\n(bars: labelled)", fontsize=7)
    ax.legend(fontsize=6, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax = axes[4]
    ax.set_xlabel("s (recording clock)", fontsize=7)
    mm = axes[4].inset_axes([0, 0, 1, 1])
    ax.axis("off")
    length = float(np.nanmax(trace.position_mm)) if len(trace.position_mm) else 1.0
    mm.set_xlim(0, max(length, 1.0))
    mm.set_ylim(-0.5, len(tl.defects) - 0.5)
    mm.set_yticks(range(len(tl.defects)), tl.defects, fontsize=6)
    for e in events:
        if e.source == "model":
            k = tl.defects.index(e.label)
            mm.barh(k, max(e.length_mm, length / 300), left=e.start_mm, color=DEFECT_COLOURS(k % 9), height=0.6)
    mm.set_xlabel("seam map: mm from arc ignition", fontsize=7)
    for j, (e, tc, vid, ir) in enumerate(strongest):
        for col, (img, cmap, what) in enumerate(((vid, "gray", "video"), (ir, "inferno", "IR"))):
            axi = fig.add_subplot(grid[6, 2 * j + col])
            axi.axis("off")
            if img is not None:
                axi.imshow(img, cmap=cmap)
            axi.set_title(f"{e.label} {what} {tc:.2f} s", fontsize=6)
    for a in axes[:4]:
        a.tick_params(labelsize=6)
    fig.tight_layout()
    save_figure(fig, out, dpi=90)
    return out
