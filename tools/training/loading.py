"""Rebuild a trained model from a checkpoint (for ``evaluate``, ``ablate``, ``stream``, ``export``).

Every checkpoint written by :func:`weldfusion.tools.training.run.train_recipe` carries the resolved
recipe (``config``), the :class:`~weldfusion.datasets.info.DataInfo` (``info``), the training
split's normalisation statistics (``norm``) and the defect thresholds chosen on validation
(``thresholds``), so a model can be rebuilt and fed correctly normalised windows without the run folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from weldfusion.datasets.info import DataInfo
from weldfusion.datasets.normalize import NormStats
from weldfusion.fusion.build import build_model
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.recipes.tree import RecipeConfig, recipe_from_dict
from weldfusion.tools.training.checkpoint import load_checkpoint, model_weights


@dataclass
class Trained:
    """A model restored from a checkpoint, with what is needed to feed and judge it."""

    model: nn.Module
    recipe: RecipeConfig
    info: DataInfo
    norm: NormStats
    thresholds: list[float]
    checkpoint: dict
    path: Path


def checkpoint_path(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/best.pt`` when ``path`` is a run folder."""
    path = Path(path)
    if path.is_dir():
        best = path / "best.pt"
        if not best.is_file():
            raise MissingInput(f"{path}: run folder has no best.pt")
        return best
    return path


#: State-dict entries older checkpoints have and the current model does not: biases of scores that
#: go into a softmax (a constant logit cancels, so dropping them leaves the output unchanged).
SOFTMAX_BIASES: tuple[str, ...] = (".pool_score.bias", ".spatial_attn.score.2.bias")


def upgrade_config(config: dict) -> dict:
    """A checkpoint's saved recipe dict with switches added after it was written set to their old
    behaviour (absent key = the component did not exist): ``model.modality_heads``,
    ``model.<video|thermal>.spatial_peak`` and ``model.electrical.trend_snr`` -> False."""
    config = {**config, "model": dict(config.get("model") or {})}
    model = config["model"]
    if model.get("arch", "msstan") == "msstan":
        model.setdefault("modality_heads", False)
        for image in ("video", "thermal"):
            section = dict(model.get(image) or {})
            if "spatial_peak" not in section:
                model[image] = {**section, "spatial_peak": False}
        section = dict(model.get("electrical") or {})
        if "trend_snr" not in section:
            model["electrical"] = {**section, "trend_snr": False}
    return config


def upgrade_state(state: dict, model: torch.nn.Module) -> dict:
    """``state`` without the :data:`SOFTMAX_BIASES` entries that ``model`` does not have."""
    own = model.state_dict()
    return {k: v for k, v in state.items() if k in own or not k.endswith(SOFTMAX_BIASES)}


def load_trained(path: str | os.PathLike, device: str | torch.device = "cpu") -> Trained:
    """The model of checkpoint ``path`` (a ``.pt`` file or a run folder -> its ``best.pt``), in eval mode."""

    path = checkpoint_path(path)
    ck = load_checkpoint(path, map_location="cpu")
    missing = [k for k in ("config", "info", "norm", "model") if k not in ck]
    if missing:
        raise InvalidInput(f"{path}: checkpoint lacks {missing[0]!r} (not written by weldfusion train)")
    try:
        recipe = recipe_from_dict(upgrade_config(ck["config"]))
        info = DataInfo.from_dict(ck["info"])
    except (InvalidInput, TypeError, AttributeError) as err:
        raise InvalidInput(f"{path}: checkpoint's recipe or data description is not usable ({err})") from None
    weights = model_weights(ck, path)
    model = build_model(recipe.model, info)
    try:
        model.load_state_dict(upgrade_state(weights, model))
    except RuntimeError as err:
        detail = " ".join(line.strip() for line in str(err).splitlines()[1:2])[:300]
        raise InvalidInput(f"{path}: weights do not fit the model of its recipe ({detail})") from None
    model.to(device).eval()
    raw = ck.get("thresholds", [0.5] * len(info.defects))
    try:
        thresholds = [float(t) for t in raw]
    except (TypeError, ValueError):
        thresholds = []
    if len(thresholds) != len(info.defects) or not all(0.0 < t < 1.0 for t in thresholds):
        raise InvalidInput(f"{path}: checkpoint's defect thresholds must be {len(info.defects)} numbers in (0, 1), "
                           f"got {raw!r}")
    return Trained(model, recipe, info, NormStats.from_dict(ck["norm"], f"{path}: norm"), thresholds, ck, path)
