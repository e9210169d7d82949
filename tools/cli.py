"""``weldfusion <verb> [args]``: dispatches to ``weldfusion.tools.<verb>.main``."""

from __future__ import annotations

import importlib
import sys

VERBS = {
    "synth": "simulated recordings",
    "probe": "per-modality complementarity probe of a data set",
    "ingest": "real recordings -> HDF5",
    "inspect": "streams, rates, gaps, labels of a recording",
    "sync": "estimate clock offsets between streams",
    "train": "train a recipe",
    "evaluate": "metrics JSON + plots for a checkpoint",
    "compare": "models side by side on the same test windows (Table 5)",
    "ablate": "per-modality / per-component ablation",
    "transfer": "adapt to an unseen material pair with few labels",
    "stream": "live sliding-window inference",
    "export": "ONNX export",
    "bench": "speed benchmarks (JSON)",
    "demo": "the quick-start job",
}


def _usage() -> str:
    lines = ["usage: weldfusion <verb> [args]   (weldfusion <verb> --help for each)", ""]
    lines += [f"  {verb:<9} {text}" for verb, text in VERBS.items()]
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
    try:
        module = importlib.import_module(f"weldfusion.tools.{verb}")
    except ModuleNotFoundError as err:
        if err.name == f"weldfusion.tools.{verb}":
            print(f"weldfusion: error: verb {verb!r} is not implemented yet", file=sys.stderr)
            return 2
        raise
    return module.cli(rest)


if __name__ == "__main__":
    sys.exit(main())
