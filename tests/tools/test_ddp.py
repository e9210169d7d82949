"""Two-process DDP training on CPU (torchrun, gloo) matches one process with the same global batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from weldfusion.tools.training.checkpoint import load_checkpoint

# Settings under which one process and two ranks compute the same thing: no per-rank randomness
# (dropouts, Gumbel frame sampling), no batch-coupled terms (pairwise losses, batch-norm statistics,
# class-weighted mean), so gradient averaging over the two halves equals the global-batch gradient.
EQUIVALENT = ["model.modality_dropout=0", "model.head_dropout=0", "model.video.adaptive_sampling=false",
              "loss.contrastive=false", "loss.semantic_similarity=false", "train.class_weighting=none",
              "train.freeze_batchnorm=true", "train.checkpoint_every_steps=0"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path):
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))  # tests/: the helpers
    from _training_data import make_recordings, write_recipe

    recipe = write_recipe(tmp_path / "tiny.yaml", make_recordings(tmp_path / "data"))
    sets = [a for s in EQUIVALENT for a in ("--set", s)]
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    base = [str(recipe), "--quiet", *sets]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "weldfusion.tools.train", *base, "--out", str(single)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_port", str(_free_port()), "-m", "weldfusion.tools.train", *base, "--out", str(ddp)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("finished after") == 1  # only rank 0 reports (and writes)

    a, b = _rows(single / "metrics.jsonl"), _rows(ddp / "metrics.jsonl")
    assert [r["step"] for r in a] == [r["step"] for r in b] == [6, 12, 18]
    for ra, rb in zip(a, b, strict=True):
        for key in ("train_loss", "val_loss", "val_phase_macro_f1", "val_phase_accuracy"):
            assert rb[key] == pytest.approx(ra[key], abs=2e-3), key
    pa, pb = load_checkpoint(single / "last.pt"), load_checkpoint(ddp / "last.pt")
    assert pb["world_size"] == 2 and len(pb["rng"]) == 2
    for key, value in pa["model"].items():
        if value.is_floating_point():
            torch.testing.assert_close(pb["model"][key], value, atol=1e-2, rtol=1e-2, msg=key)
