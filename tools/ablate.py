"""``weldfusion ablate CHECKPOINT --data DIR|GLOB --out DIR``: per-modality / per-component ablation + attribution.

Writes ``DIR/ablation.json`` (``{"modalities": [{"present": [...], "phase.macro_f1", "defect.mean_f1",
...}], "components": [{"disabled": "<name>", ...}], "attribution": {...}, "reference": {...}}``),
``DIR/ablation.md`` and ``DIR/ablation_modalities.png``. See :mod:`weldfusion.tools.analysis.ablation`
for what each row means and :mod:`weldfusion.tools.analysis.attribution` for the attribution figures.

Without flags nothing is trained: modality subsets are scored by masking, and the MS-STAN
components that can be knocked out of a trained model are. ``--retrain-leave-one-out`` trains the
recipe again once per modality (``data.modalities.<m>.enabled: false``); ``--retrain-components``
trains it again once per component (default: the components that need it). Retraining uses the
checkpoint's own recipe, or ``--recipe R``, with ``--set`` overrides; runs go to ``DIR/runs/<name>``
and are continued, not repeated, when the command is run again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.tools.analysis.ablate import SPLITS, ablate_checkpoint
from weldfusion.tools.analysis.report import f3, signed
from weldfusion.tools.cli import add_report_output, add_scoring_options
from weldfusion.tools.errors import run as run_tool


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion ablate", description="Per-modality and per-component ablation "
                                "of a checkpoint, with attention attribution: ablation.json, ablation.md, "
                                "ablation_modalities.png.")
    p.add_argument("checkpoint", type=Path, help="best.pt / last.pt, or a run folder (uses its best.pt)")
    p.add_argument("--data", required=True, help="recordings: directory, glob, split list or .h5 file")
    add_report_output(p)
    p.add_argument("--split", choices=SPLITS, help="recordings to score (default: the recipe's eval.split, normally "
                   "test)")
    p.add_argument("--retrain-leave-one-out", action="store_true",
                   help="also train the recipe again without each modality (one run per modality)")
    p.add_argument("--retrain-components", nargs="?", const="needed", default=None, metavar="NAMES",
                   help="train the recipe again with each component off: 'needed' (default: the components that "
                   "cannot be knocked out at inference), 'all', or a comma list")
    p.add_argument("--recipe", help="recipe for retraining (default: the checkpoint's own recipe)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the retraining recipe, e.g. --set train.epochs=4 (repeatable)")
    p.add_argument("--region-mm", type=float, default=3.0, help="radius of the arc/pool disc of the spatial "
                   "attribution, mm (default 3)")
    p.add_argument("--key-tolerance-s", type=float, default=0.05, help="frames within this many seconds of a "
                   "phase transition are key frames (default 0.05)")
    p.add_argument("--latency-windows", type=int, default=20, help="windows timed per model for ms/window "
                   "(0 = no timing)")
    add_scoring_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    r = ablate_checkpoint(args.checkpoint, args.data, args.out, split=args.split,
                          retrain_leave_one_out=args.retrain_leave_one_out, retrain_components=args.retrain_components,
                          recipe=args.recipe, overrides=args.overrides, region_mm=args.region_mm,
                          key_tolerance_s=args.key_tolerance_s, latency_windows=args.latency_windows,
                          device=args.device, batch_size=args.batch_size, progress=not args.quiet, force=args.force)

    ref = r["reference"]
    print(f"{r['split']} split: {ref['n_windows']} windows; all modalities: phase macro-F1 {f3(ref['phase.macro_f1'])}"
          f"  defect mean F1 {f3(ref['defect.mean_f1'])}")
    for row in r["modalities"]:
        print(f"  {row['mode']:<9} {'only: ' + '+'.join(row['present']):<42} phase macro-F1 {f3(row['phase.macro_f1'])} "
              f"({signed(row['phase.macro_f1_drop'])} drop)  defect mean F1 {f3(row['defect.mean_f1'])}")
    for row in r["components"]:
        print(f"  no {row['disabled']:<24} {row['mode']:<16} phase macro-F1 {f3(row.get('phase.macro_f1'))}  "
              f"defect mean F1 {f3(row.get('defect.mean_f1'))}")
    att = r["attribution"]
    print(f"attribution: background noise {f3(att['background_noise'])}  keyframe focus {f3(att['keyframe_focus'])}")
    print(f"wrote {args.out / 'ablation.json'}, {args.out / 'ablation.md'}, {args.out / 'ablation_modalities.png'}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("ablate", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
