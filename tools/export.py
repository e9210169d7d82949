"""``weldfusion export CHECKPOINT --onnx FILE.onnx [--force] [--opset 17] [--batch 1]``: ONNX export of a trained model.

Exports the fusion model with the presence mask as an input (inputs: one tensor per modality,
``present``, ``params``, ``pair``; outputs: ``phase_probs``, ``defect_probs``, ``modality_weights``;
batch size fixed at export, see ``tools/streaming/onnx_export.py``), then checks with ONNX Runtime that the
file reproduces the PyTorch model for several presence masks before keeping it. Use it with
``weldfusion stream CHECKPOINT RECORDING.h5 --onnx FILE.onnx``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.cli import description
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion export", description=description(__doc__))
    p.add_argument("checkpoint", type=Path, help="checkpoint (.pt) or run folder (-> best.pt)")
    p.add_argument("--onnx", type=Path, required=True, help="output .onnx file")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (17-20, default 17)")
    p.add_argument("--batch", type=int, default=1, help="batch size of the graph (default 1, as streaming runs)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the verification runs (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output_file(args.onnx, force=args.force, suffixes=(".onnx",), inputs=[args.checkpoint])
    if not 17 <= args.opset <= 20:
        raise InvalidInput(f"--opset must be 17-20 (the opsets this torch exports), got {args.opset}")
    if args.batch < 1:
        raise InvalidInput(f"--batch must be >= 1, got {args.batch}")
    if args.threads < 1:
        raise InvalidInput(f"--threads must be >= 1, got {args.threads}")
    # lazy: --help and argument errors answer without loading torch
    from weldfusion.tools.streaming.onnx_parity import export_checked
    from weldfusion.tools.streaming.parity import presence_masks

    trained, worst = export_checked(args.checkpoint, args.onnx, opset=args.opset, batch=args.batch, threads=args.threads)
    n_masks = len(presence_masks(len(trained.info.names)))
    inputs = ", ".join(trained.info.names)
    print(f"wrote {args.onnx} (opset {args.opset}, batch {args.batch}; inputs {inputs}, present, params, pair); "
          f"ONNX Runtime == PyTorch within {worst:.2g} over {n_masks} presence masks")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("export", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
