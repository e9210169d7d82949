"""``weldfusion <verb> [args]``: dispatches to the verb's module in ``weldfusion.tools``.

Each verb module parses its arguments and calls a library function; its ``cli(argv)`` returns the
exit code (0 ok, 1 a finding such as a validator problem, 2 a user error, see :mod:`.errors`).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput

#: verb -> (module in weldfusion.tools, one line of help)
VERBS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "simulated recordings"),
    "probe": ("probe", "per-modality complementarity probe of a data set"),
    "sim-check": ("sim_check", "the simulator's physics measured (cooling times, joint, rates, sound)"),
    "ingest": ("ingest", "real recordings -> HDF5"),
    "inspect": ("inspect_recording", "streams, rates, gaps, labels of a recording"),
    "sync": ("sync", "estimate clock offsets between streams"),
    "raw-export": ("raw_export", "a recording -> raw sensor files + recording.yaml"),
    "train": ("train", "train a recipe"),
    "evaluate": ("evaluate", "metrics JSON + plots for a checkpoint"),
    "compare": ("compare", "models side by side on the same test windows (Table 5)"),
    "baseline-svm": ("baseline_svm", "fit and score the HOG + spectral features + SVM baseline"),
    "predict": ("predict", "weld-level results: verdicts, events along the seam, report.html"),
    "ablate": ("ablate", "per-modality / per-component ablation"),
    "annotate": ("annotate", "a recording's video + IR with the model's attention, phase and alarms (mp4)"),
    "rate-sweep": ("rate_sweep", "a model's answer with one sensor at another sampling rate"),
    "transfer": ("transfer", "adapt to an unseen material pair with few labels"),
    "stream": ("stream", "live sliding-window inference"),
    "serve-replay": ("serve_replay", "publish a recording as live sensors (LSL outlets, OPC UA nodes)"),
    "export": ("export", "ONNX export"),
    "bench": ("bench", "speed benchmarks (JSON)"),
    "demo": ("demo", "the quick-start job"),
}


def description(doc: str) -> str:
    """A verb's ``--help`` description from its module docstring: the first paragraph, with the
    reStructuredText literal marks (double backticks) taken out."""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.replace("``", "").split())


def add_report_output(parser: argparse.ArgumentParser) -> None:
    """``--out DIR`` and ``--force`` of the verbs that write a report folder (rules: tools/outputs.py)."""
    parser.add_argument("--out", required=True, type=Path,
                        help="output folder (created; an existing, non-empty one only with --force)")
    parser.add_argument("--force", action="store_true", help="replace the report files in an existing --out folder")


def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--batch-size`` and ``--quiet`` of the verbs that score a trained model."""
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="torch device (auto: cuda when available)")
    parser.add_argument("--batch-size", type=int,
                        help="windows per forward pass (default: the recipe's eval.batch_size)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


_STALL = re.compile(r"^(\w+):([0-9.]+)-([0-9.]+)$")


def parse_stalls(items: list[str]) -> dict[str, list[tuple[float, float]]]:
    """``--stall MODALITY:START-END`` values (``stream``, ``serve-replay``) -> ``{modality: [(start, end)]}``."""
    out: dict[str, list[tuple[float, float]]] = {}
    for item in items:
        m = _STALL.match(item.strip())
        if not m or float(m.group(3)) <= float(m.group(2)):
            raise InvalidInput(f"--stall: expected MODALITY:START-END with START < END (seconds), got {item!r}")
        out.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
    return out


def _usage() -> str:
    lines = ["usage: weldfusion <verb> [args]   (weldfusion <verb> --help for each)", ""]
    lines += [f"  {verb:<12} {text}" for verb, (_, text) in VERBS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"weldfusion: error: unknown verb {verb!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    # lazy: only the chosen verb's module (and its libraries) is imported
    module = importlib.import_module(f"weldfusion.tools.{VERBS[verb][0]}")
    return module.cli(rest)


if __name__ == "__main__":
    sys.exit(main())
