"""The short markdown report of an evaluation (``report.md`` next to ``metrics.json``)."""

from __future__ import annotations


def _f(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown_report(m: dict, figures: dict[str, str]) -> str:
    """Markdown summary of the metrics tree ``m`` (see :mod:`.evaluation`); ``figures`` name -> file."""
    ph, de, cal, lat = m["phase"], m["defect"], m["calibration"], m["latency"]
    lines = [
        f"# Evaluation of `{m['recipe']}`",
        "",
        f"Checkpoint `{m['checkpoint']}` (epoch {m.get('epoch', '?')}), data `{m['data']}`, split **{m['split']}**: "
        f"{m['n_windows']} windows from {m['n_recordings']} recordings.",
        "",
        "| task | metric | value |",
        "|---|---|---|",
        f"| phase | accuracy | {_f(ph['accuracy'])} |",
        f"| phase | macro-F1 | {_f(ph['macro_f1'])} |",
        f"| phase | macro one-vs-rest AUC | {_f(ph['macro_auc'])} |",
        f"| defect | mean F1 (thresholds from validation) | {_f(de['mean_f1'])} |",
        f"| defect | mean AUC | {_f(de['mean_auc'])} |",
        f"| calibration | phase ECE ({cal['n_bins']} bins) | {_f(cal['ece'])} |",
        f"| latency | ms per window, batch 1 ({lat['device']}, {lat['threads']} threads) | "
        f"{_f(lat['ms_per_window'], 2)} |",
        f"| latency | ms per window, batch {lat['batch_size']} | {_f(lat['ms_per_window_batched'], 2)} |",
        "",
        "## Phases per class",
        "",
        "| phase | support | precision | recall | F1 | AUC |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in ph["per_class"].items():
        lines.append(f"| {name} | {c['support']} | {_f(c['precision'])} | {_f(c['recall'])} | {_f(c['f1'])} | "
                     f"{_f(c['auc'])} |")
    lines += ["", "## Defects per class", "",
              "| defect | support | predicted | threshold | precision | recall | F1 | AUC |",
              "|---|---|---|---|---|---|---|---|"]
    for name, c in de["per_class"].items():
        lines.append(f"| {name} | {c['support']} | {c['predicted']} | {_f(c['threshold'], 2)} | {_f(c['precision'])} | "
                     f"{_f(c['recall'])} | {_f(c['f1'])} | {_f(c['auc'])} |")
    for key, title in (("per_pair", "material pair"), ("per_process", "process")):
        lines += ["", f"## Per {title}", "", f"| {title} | recordings | windows | phase acc. | phase macro-F1 | "
                  "defect mean F1 | ECE |", "|---|---|---|---|---|---|---|"]
        for name, g in m[key].items():
            lines.append(f"| {name} | {g['n_recordings']} | {g['n_windows']} | {_f(g['phase']['accuracy'])} | "
                         f"{_f(g['phase']['macro_f1'])} | {_f(g['defect']['mean_f1'])} | "
                         f"{_f(g['calibration']['ece'])} |")
    if m.get("modality_weights_mean"):
        lines += ["", "## Mean modality weights", "", "| " + " | ".join(m["modality_weights_mean"]) + " |",
                  "|" + "---|" * len(m["modality_weights_mean"]),
                  "| " + " | ".join(_f(v) for v in m["modality_weights_mean"].values()) + " |"]
    if m.get("segments") is not None:
        seg, ev, lim = m["segments"], m["events"], m["limits_events"]
        lines += ["", f"## Weld level (hop {m.get('weld_hop_s', 0.1):g} s; rules: tools/welds/metrics.py)", "",
                  "| metric | model | limit bands |", "|---|---|---|",
                  f"| phase segments F1@0.10 / @0.25 / @0.50 | {_f(seg['f1@0.10'])} / {_f(seg['f1@0.25'])} / "
                  f"{_f(seg['f1@0.50'])} | |",
                  f"| phase segments edit score | {_f(seg['edit'])} | |",
                  f"| defect events recall | {_f(ev['recall'])} | {_f(lim['recall'])} |",
                  f"| defect events precision | {_f(ev['precision'])} | {_f(lim['precision'])} |",
                  f"| false alarms per minute | {_f(ev['false_alarms_per_min'])} | {_f(lim['false_alarms_per_min'])} |",
                  f"| median onset error, s | {_f(ev['onset_error_s']['median'])} | {_f(lim['onset_error_s']['median'])} |",
                  f"| median position error, mm | {_f(ev['position_error_mm']['median'])} | |",
                  "", "| defect | labelled | detected | recall | precision | recall of the limit bands |",
                  "|---|---|---|---|---|---|"]
        for name, c in ev["per_class"].items():
            lines.append(f"| {name} | {c['n_labelled']} | {c['n_detected']} | {_f(c['recall'])} | {_f(c['precision'])} | "
                         f"{_f(lim['per_class_recall'].get(name))} |")
    lines += ["", "## Figures", ""] + [f"- {name}: [{path}]({path})" for name, path in figures.items()]
    lines += ["", "Macro-F1 averages the classes present in the labels or predictions; defect mean F1 averages the "
              "defect classes that occur in the labels or are predicted; ECE is for the top-1 phase probability.", ""]
    return "\n".join(lines)
