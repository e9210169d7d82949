"""Markdown tables and bar charts of ``ablation.json`` and ``transfer.json`` (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SHORT = {"video": "V", "thermal": "T", "acoustic": "A", "electrical": "E"}


def f3(x, digits: int = 3) -> str:
    """A number for a table (``–`` for None)."""
    return "–" if x is None else f"{x:.{digits}f}"


def signed(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:+.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def subset_label(present: list[str]) -> str:
    """``video+thermal`` style label of a modality subset."""
    return "+".join(present)


# -- ablation --------------------------------------------------------------------------------------------------
def ablation_markdown(result: dict, figure: str | None = "ablation_modalities.png") -> str:
    """The ``ablation.md`` report of an ``ablation.json`` tree."""
    ref = result["reference"]
    lines = [f"# Ablation of {result['checkpoint']}", "",
             (f"Recipe `{result['recipe']}`, {result['split']} split of `{result['data']}`: "
             f"{ref['n_windows']} windows. Reference (all modalities): phase macro-F1 {f3(ref['phase.macro_f1'])}, "
             f"defect mean F1 {f3(ref['defect.mean_f1'])}, {f3(ref.get('latency.ms_per_window'), 2)} ms/window."),
             "", "## Modalities", "",
             ("`masked`: the model of the checkpoint with the other modalities' `present` column cleared (no "
             "retraining); `retrained`: trained again without the modality. Drops are reference minus row "
             "(positive = worse)."), ""]
    rows = []
    for r in result["modalities"]:
        rows.append([subset_label(r["present"]), r["mode"], str(r["n_windows"]), f3(r["phase.accuracy"]),
                     f3(r["phase.macro_f1"]), signed(r.get("phase.macro_f1_drop")), f3(r["defect.mean_f1"]),
                     signed(r.get("defect.mean_f1_drop"))])
    lines += _table(["present", "mode", "windows", "phase acc", "phase macro-F1", "drop", "defect mean F1",
                     "drop"], rows)
    summary = result.get("summary", {})
    if summary.get("worst_single_missing") is not None:
        w = summary["worst_single_missing"]
        lines += ["", (f"Worst single missing modality (masked): **{w['absent']}**, phase macro-F1 drop "
                  f"{signed(w['phase.macro_f1_drop'])} (target <= 0.030: "
                  f"{'met' if summary['one_missing_phase_drop_ok'] else 'NOT met'}).")]
    if figure:
        lines += ["", f"![modality subsets]({figure})"]
    lines += ["", "## MS-STAN components", "",
              ("`inference`: block knocked out of the loaded model; `retrained`: recipe trained again with the "
              "component off; `needs_retraining`: run with `--retrain-components` to measure; `not_in_model`: "
              "the checkpoint does not use it."), ""]
    rows = []
    for r in result["components"]:
        rows.append([r["disabled"], r["mode"], ",".join(r.get("modalities", [])) or "–", f3(r.get("phase.macro_f1")),
                     signed(r.get("phase.macro_f1_drop")), f3(r.get("defect.mean_f1")),
                     signed(r.get("defect.mean_f1_drop")), f3(r.get("latency.ms_per_window"), 2)])
    lines += _table(["disabled", "mode", "encoders", "phase macro-F1", "drop", "defect mean F1", "drop",
                     "ms/window"], rows)
    att = result.get("attribution", {})
    lines += ["", "## Attention attribution", ""]
    if att.get("spatial") or att.get("temporal"):
        lines += [(f"Region: disc of {att['region_mm']} mm around the simulator's arc / heat-source position; key "
                  f"frames: inside a defect interval or within {att['key_tolerance_s']} s of a phase transition. "
                  f"Frames in {', '.join(att['excluded_phases']) or 'no'} phases left out of the spatial figures."),
                  "",
                  (f"**Background noise** (spatial attention outside the region): {f3(att.get('background_noise'))}; "
                  f"**keyframe focus** (temporal attention on key frames): {f3(att.get('keyframe_focus'))}."), ""]
        rows = []
        for m, s in att.get("spatial", {}).items():
            rows.append([m, "spatial: region", f3(s["region_share"]), f3(s["area_share"]), f3(s["lift"], 2),
                         str(s["n_frames"]) + " frames"])
        for m, t in att.get("temporal", {}).items():
            rows.append([m, "temporal: key frames", f3(t["keyframe_focus"]), f3(t["key_frame_share"]),
                         f3(t["lift"], 2), str(t["n_windows"]) + " windows"])
            if "sampler_key_share" in t:
                rows.append([m, "sampler: key frames kept", f3(t["sampler_key_share"]),
                             f3(t["key_share_all_frames"]), f3(t["sampler_key_share"] / t["key_share_all_frames"]
                                                               if t["key_share_all_frames"] else None, 2),
                             str(t["sampler_windows"]) + " windows"])
        lines += _table(["modality", "figure", "attention share", "chance (area / frame share)", "lift", "over"],
                        rows)
    else:
        lines += ["No simulator ground truth (`/truth`) in these recordings: spatial / temporal attribution skipped."]
    per = att.get("modality_weights_per_defect")
    if per:
        names = result["names"]
        lines += ["", (f"Mean modality weights per defect class (windows with every modality present: "
                  f"{att['modality_weights_windows']}):"), ""]
        rows = [[cls, *(f3(v.get(n)) for n in names), str(v["n_windows"])] for cls, v in per.items()]
        lines += _table(["defect", *names, "windows"], rows)
    return "\n".join(lines) + "\n"


def plot_modalities(rows: list[dict], path: str | os.PathLike, reference: dict | None = None) -> Path:
    """Horizontal grouped bars: phase macro-F1 and defect mean F1 per modality subset (masked rows)."""
    rows = [r for r in rows if r["mode"] == "masked"] + [r for r in rows if r["mode"] != "masked"]
    labels = [("+".join(SHORT.get(m, m) for m in r["present"])) + ("" if r["mode"] == "masked" else f" ({r['mode']})")
              for r in rows]
    phase = [r["phase.macro_f1"] or 0.0 for r in rows]
    defect = [r["defect.mean_f1"] or 0.0 for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.4))
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], phase, height=0.4, label="phase macro-F1", color="#3b75af")
    ax.barh([i + 0.2 for i in y], defect, height=0.4, label="defect mean F1", color="#ef8636")
    if reference is not None and reference.get("phase.macro_f1") is not None:
        ax.axvline(reference["phase.macro_f1"] - 0.03, color="#3b75af", ls=":", lw=1,
                   label="reference phase F1 - 0.03")
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("score on held-out windows")
    ax.set_title("modality subsets (V video, T thermal, A acoustic, E electrical)", fontsize=9)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- transfer --------------------------------------------------------------------------------------------------
def transfer_markdown(result: dict, figures: dict[str, str]) -> str:
    """The ``transfer.md`` report of a ``transfer.json`` tree."""
    src, tgt = ", ".join(result["source_pairs"]), result["target_pair"]
    pre, zero = result["pretrain"], result["zero_shot"]
    lines = [f"# Transfer {src} -> {tgt} (`{result['recipe']}`)", "",
             (f"Pre-trained on {src}: phase macro-F1 {f3(pre['source.phase.macro_f1'])} on the source test split. "
             f"On the unseen {tgt} test split before adaptation: phase macro-F1 {f3(zero['phase.macro_f1'])} "
             f"(accuracy {f3(zero['phase.accuracy'])}), defect mean F1 {f3(zero['defect.mean_f1'])}: "
             f"**accuracy drop {signed(result['accuracy_drop']['phase.accuracy'])}**, macro-F1 drop "
             f"{signed(result['accuracy_drop']['phase.macro_f1'])}."), "",
             (f"Label fractions of the {tgt} training split, by {result['fraction_unit']} (nested, seed "
             f"{result['fraction_seed']}); fine-tuned from the pre-trained model vs trained from scratch on the same "
             f"labels; the same {tgt} test split ({result['target_test_windows']} windows) throughout. Recovery = "
             f"fine-tuned phase macro-F1 / full-data phase macro-F1 ({f3(result['full_data']['phase.macro_f1'])}, "
             f"{result['full_data']['source']})."), ""]
    rows = []
    for r in result["fractions"]:
        ft, sc = r["finetune"], r["scratch"]
        rows.append([f"{r['fraction']:.0%}", str(r["n_recordings"]), str(r["n_windows"]),
                     f3(ft["phase.macro_f1"]), f3(sc["phase.macro_f1"]), signed(r["gain.phase.macro_f1"]),
                     f3(ft["defect.mean_f1"]), f3(sc["defect.mean_f1"]), f3(r["recovery.phase.macro_f1"])])
    lines += _table(["labels", "recordings", "windows", "fine-tune phase F1", "scratch phase F1", "gain",
                     "fine-tune defect F1", "scratch defect F1", "recovery"], rows)
    target = result.get("target_check")
    if target:
        lines += ["", (f"Fine-tuning on {target['fraction']:.0%} of the labels recovers "
                  f"{f3(target['recovery'])} of the full-data phase macro-F1 (target >= 0.90: "
                  f"{'met' if target['ok'] else 'NOT met'}).")]
    emb = result.get("embedding")
    if emb:
        lines += ["", f"Embeddings ({emb['method']}) of the test windows of every pair; silhouette by material pair "
                  f"(lower = pairs overlap more): " + ", ".join(f"{k} {f3(v)}" for k, v in emb["silhouette"].items())
                  + "."]
    for title, name in figures.items():
        lines += ["", f"![{title}]({name})"]
    return "\n".join(lines) + "\n"


def plot_transfer(result: dict, path: str | os.PathLike) -> Path:
    """Phase macro-F1 vs label fraction: fine-tuned vs from scratch, with zero-shot and full-data lines."""
    fr = result["fractions"]
    x = [r["fraction"] * 100 for r in fr]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(x, [r["finetune"]["phase.macro_f1"] for r in fr], "o-", label="fine-tuned from pre-training")
    ax.plot(x, [r["scratch"]["phase.macro_f1"] for r in fr], "s--", label="from scratch")
    ax.axhline(result["zero_shot"]["phase.macro_f1"], color="grey", ls=":", label="before adaptation")
    full = result["full_data"]["phase.macro_f1"]
    if full is not None:
        ax.axhline(full, color="k", lw=0.8, label="full data")
        ax.axhline(0.9 * full, color="k", lw=0.8, ls="--", label="90% of full data")
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{v:g}%" for v in x])
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"labelled share of the {result['target_pair']} training {result['fraction_unit']}")
    ax.set_ylabel("phase macro-F1 (target test)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
