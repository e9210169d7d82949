"""``weldfusion export CHECKPOINT --onnx FILE.onnx [--force] [--opset 17] [--batch 1]``: ONNX export of a trained model.

Exports the fusion model with the presence mask as an input (inputs: one tensor per modality,
``present``, ``params``, ``pair``; outputs: ``phase_probs``, ``defect_probs``, ``modality_weights``;
batch size fixed at export, see ``tools/streaming/onnx_export.py``), then checks with ONNX Runtime that the
file reproduces the PyTorch model for several presence masks before keeping it. Use it with
``weldfusion stream CHECKPOINT RECORDING.h5 --onnx FILE.onnx``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file

#: ONNX Runtime must reproduce the eager probabilities / weights to this absolute tolerance.
ATOL = 1e-4


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion export", description=__doc__.split("\n\n")[0].strip("`"))
    p.add_argument("checkpoint", type=Path, help="checkpoint (.pt) or run folder (-> best.pt)")
    p.add_argument("--onnx", type=Path, required=True, help="output .onnx file")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17, default 17)")
    p.add_argument("--batch", type=int, default=1, help="batch size of the graph (default 1, as streaming runs)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the verification runs (default 1)")
    return p


def presence_masks(m: int) -> list[np.ndarray]:
    """Every non-empty subset of ``m`` modalities (at most 16 masks: all single, all-but-one and all)."""
    subsets = [s for k in range(1, m + 1) for s in itertools.combinations(range(m), k)]
    if len(subsets) > 16:
        subsets = [s for s in subsets if len(s) in (1, m - 1, m)]
    masks = []
    for s in subsets:
        mask = np.zeros(m, dtype=bool)
        mask[list(s)] = True
        masks.append(mask)
    return masks


def verify(model, info, path: Path, threads: int = 1, batch: int = 1) -> float:
    """Largest absolute difference between ONNX Runtime and the eager model over random inputs with
    every presence mask of :func:`presence_masks` (``batch``: the exported batch size)."""
    import torch
    from weldfusion.tools.streaming.engine import EagerBackend
    from weldfusion.tools.streaming.onnx_backend import OnnxBackend
    from weldfusion.tools.streaming.onnx_export import example_inputs

    ort = OnnxBackend(path, threads=threads)
    eager = EagerBackend(model)
    worst = 0.0
    with torch.inference_mode():
        for k, mask in enumerate(presence_masks(len(info.names))):
            inputs = example_inputs(info, batch=batch, seed=100 + k, present=mask)
            a, b = eager.predict(inputs), ort.predict(inputs)
            worst = max(worst, *(float(np.abs(a[key] - b[key]).max()) for key in a))
    return worst


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output_file(args.onnx, force=args.force, suffixes=(".onnx",), inputs=[args.checkpoint])
    if args.opset < 17:
        raise InvalidInput(f"--opset must be >= 17, got {args.opset}")
    if args.batch < 1:
        raise InvalidInput(f"--batch must be >= 1, got {args.batch}")
    if args.threads < 1:
        raise InvalidInput(f"--threads must be >= 1, got {args.threads}")
    import torch
    from weldfusion.tools.streaming.onnx_export import export_onnx
    from weldfusion.tools.training.loading import load_trained

    torch.set_num_threads(args.threads)  # batch-1 checks: more threads only contend on a shared CPU
    trained = load_trained(args.checkpoint)
    tmp = args.onnx.with_name(f".{args.onnx.stem}.{os.getpid()}.verify.onnx")  # one per process
    try:
        export_onnx(trained.model, trained.info, tmp, opset=args.opset, batch=args.batch, source=str(trained.path))
        worst = verify(trained.model, trained.info, tmp, threads=args.threads, batch=args.batch)
        if not worst <= ATOL:
            raise InvalidInput(f"{args.onnx}: ONNX Runtime differs from PyTorch by {worst:.3g} (> {ATOL}); not written")
        tmp.replace(args.onnx)
    finally:
        tmp.unlink(missing_ok=True)
    n_masks = len(presence_masks(len(trained.info.names)))
    inputs = ", ".join(trained.info.names)
    print(f"wrote {args.onnx} (opset {args.opset}, batch {args.batch}; inputs {inputs}, present, params, pair); "
          f"ONNX Runtime == PyTorch within {worst:.2g} over {n_masks} presence masks")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("export", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
