"""Tiny checkpoints for the streaming / export tests: an untrained tiny model with real norm stats.

Written in the format of ``weldfusion train`` (config, info, norm, model, thresholds) without
training, so the tests stay fast; streaming parity and export equality do not need learnt weights.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from _training_data import TINY_RECIPE, write_recording
from weldfusion.datasets.normalize import compute_norm_stats
from weldfusion.datasets.windows import WindowDataset
from weldfusion.fusion.build import build_model
from weldfusion.recipes.config import to_dict
from weldfusion.recipes.tree import recipe_from_dict
from weldfusion.tools.training.checkpoint import save_checkpoint


def tiny_recipe(data: Path, **data_overrides) -> dict:
    """The tiny training recipe of the train tests, pointed at ``data``, with ``data`` keys overridden."""
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["data"]["path"] = str(data)
    recipe["data"].update(data_overrides)
    recipe["model"]["modality_dropout"] = 0.0
    return recipe


def write_checkpoint(path: Path, recipe_data: dict, seed: int = 0, randomize_bn: bool = True,
                     threshold: float = 0.5) -> Path:
    """An untrained checkpoint of ``recipe_data`` with normalisation statistics of its data.

    ``randomize_bn`` gives batch-norm layers non-trivial running statistics and affine weights,
    so that eval-mode outputs depend on every input value as a trained model's would.
    ``threshold``: the defect thresholds stored (the alarm thresholds of stream / predict).
    """
    recipe = recipe_from_dict(recipe_data)
    ds = WindowDataset(recipe.data.path, recipe.data)
    norm = compute_norm_stats(ds, 64, progress=False)
    torch.manual_seed(seed)
    model = build_model(recipe.model, ds.info)
    if randomize_bn:
        g = torch.Generator().manual_seed(seed)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.weight.data.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=g))
    state = {"config": to_dict(recipe), "info": ds.info.to_dict(), "norm": norm.to_dict(),
             "model": model.state_dict(), "thresholds": [threshold] * len(ds.info.defects), "epoch": 0}
    return save_checkpoint(state, path)


def tiny_run(tmp_path_factory, name: str):
    """A 2.4 s test recording ``a`` and an untrained tiny checkpoint of its recipe: ``(recording, checkpoint)``."""
    d = tmp_path_factory.mktemp(f"{name}_data")
    rec = write_recording(d / "a.h5", "a", "Al-steel", "GMAW", seed=0)
    return rec, write_checkpoint(tmp_path_factory.mktemp(f"{name}_ck") / "tiny.pt", tiny_recipe(d))


def fixed_box_checkpoint(path: Path, recipe_data: dict, cls: int, threshold: float = 0.5) -> Path:
    """An untrained checkpoint of ``recipe_data`` with a video box head whose every query says "class
    ``cls`` at (cx, cy, w, h) = (0.5, 0.5, 0.5, 0.5)" (score ~1): the boxes the tools must show."""
    recipe = copy.deepcopy(recipe_data)
    recipe["data"]["localisation"] = ["video"]
    recipe["model"]["localisation"] = {"detection": True, "queries": 2, "decoder_layers": 1, "head_dim": 16,
                                       "decoder_heads": 2}
    ck = write_checkpoint(path, recipe, threshold=threshold)
    state = torch.load(ck, map_location="cpu", weights_only=True)
    prefix = "localisation.video.detection."
    for key in (f"{prefix}box.2.weight", f"{prefix}cls.weight", f"{prefix}box.2.bias"):
        state["model"][key].zero_()  # sigmoid(0) = 0.5: a box of half the frame, centred
    bias = state["model"][f"{prefix}cls.bias"]
    bias.fill_(-10.0)
    bias[cls] = 10.0
    return save_checkpoint(state, ck)
