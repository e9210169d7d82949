"""``weldfusion transfer RECIPE --data DIR|GLOB --out DIR``: adapt to an unseen material pair with few labels.

Runs the stages of a transfer recipe (e.g. ``recipes/transfer_cu-ss.yaml``, see
:mod:`weldfusion.tools.analysis.transfer`): pre-train on the source pairs, score the pre-trained
model on the unseen target pair before adaptation (accuracy drop), then per label fraction
fine-tune it on that share of the target training labels and train from scratch on the same
labels, plus a full-data scratch reference. Every target model is scored on the same held-out
target recordings. Writes ``DIR/transfer.json``, ``DIR/transfer.md``, ``DIR/transfer_f1.png`` (F1 vs
label fraction) and ``DIR/transfer_embedding.png`` (2-D embeddings of the test windows of every
pair, before and after fine-tuning, coloured by pair). Training runs live in ``DIR/runs/<stage>_<f>``
and are continued, not repeated, when the command is run again; ``--pretrained CKPT`` skips pre-training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.tools.analysis.report import f3, signed
from weldfusion.tools.analysis.transfer_run import transfer
from weldfusion.tools.cli import add_report_output
from weldfusion.tools.errors import run as run_tool


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion transfer", description="Pre-train on some material pairs, fine-tune "
                                "on an unseen pair with a label fraction vs train from scratch: transfer.json, "
                                "transfer.md, plots.")
    p.add_argument("recipe", help="transfer recipe YAML (with a 'transfer:' section), or a packaged one "
                   "(e.g. transfer_cu-ss)")
    p.add_argument("--data", required=True, help="recordings of the source and target pairs: directory, glob or "
                   "split list")
    add_report_output(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set train.epochs=4 or --set transfer.label_fractions=[0.1]")
    p.add_argument("--pretrained", type=Path, help="use this checkpoint (trained on the source pairs) instead of "
                   "pre-training")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="shortcut for --set train.device=...")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    overrides = list(args.overrides) + ([f"train.device={args.device}"] if args.device else [])
    r = transfer(args.recipe, args.data, args.out, overrides=overrides, pretrained=args.pretrained,
                 progress=not args.quiet, force=args.force)
    z, drop = r["zero_shot"], r["accuracy_drop"]
    print(f"pre-trained on {', '.join(r['source_pairs'])}: source phase macro-F1 "
          f"{f3(r['pretrain']['source.phase.macro_f1'])}; on {r['target_pair']} before adaptation: phase macro-F1 "
          f"{f3(z['phase.macro_f1'])} (accuracy drop {signed(drop['phase.accuracy'])})")
    for row in r["fractions"]:
        print(f"  {row['fraction']:>6.0%} ({row['n_recordings']} rec, {row['n_windows']} win): fine-tune "
              f"{f3(row['finetune']['phase.macro_f1'])}  scratch {f3(row['scratch']['phase.macro_f1'])}  gain "
              f"{signed(row['gain.phase.macro_f1'])}  recovery {f3(row['recovery.phase.macro_f1'])}")
    print(f"  full data ({r['full_data']['source']}): phase macro-F1 {f3(r['full_data']['phase.macro_f1'])}")
    print(f"wrote {args.out / 'transfer.json'}, {args.out / 'transfer.md'} and plots")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("transfer", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
