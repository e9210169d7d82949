"""Transfer to an unseen material pair: the transfer recipe and the recipes of its stages.

A transfer recipe is an ordinary recipe (``base: fusion_all.yaml`` etc.) plus a ``transfer:``
section (:class:`TransferConfig`). ``weldfusion transfer`` derives one training recipe per stage
(:func:`stage_recipe`):

* ``pretrain`` — the recipe on the ``source_pairs`` only (``data.filter.pairs``);
* ``finetune`` at each label fraction f — the recipe on the ``target_pair`` only, initialised from
  the pre-trained best checkpoint (``train.init_from``) and trained on a fraction f of the target
  training split's labels (``train.label_fraction``: whole recordings by default, nested and seeded);
* ``scratch`` at each f — the same labels, fresh initialisation; at f = 1 it is the full-data
  reference the recovery is measured against.

Each stage may override any recipe key through its partial tree (``transfer.finetune: {train:
{lr: 5.0e-4}}``); unknown keys fail when the transfer recipe is loaded, naming the stage. The
target pair's recordings are split with the recipe's ``data.split`` (by recording), so every
target-pair model is scored on the same held-out recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from weldfusion.recipes.config import ConfigError, apply_overrides, deep_merge, from_dict, to_dict
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import MATERIAL_PAIRS
from weldfusion.recipes.tree import RecipeConfig, read_recipe_data, recipe_from_dict, resolve_recipe_path

STAGES = ("pretrain", "finetune", "scratch")


@dataclass
class TransferConfig:
    """The ``transfer:`` section of a transfer recipe.

    Attributes:
        source_pairs: material pairs of the pre-training stage.
        target_pair: the unseen pair adapted to.
        label_fractions: shares of the target training labels fine-tuned on (and trained from scratch on).
        fraction_unit: ``recordings`` (whole recordings, default) or ``windows`` (see ``train.label_fraction``).
        fraction_seed: seed of the nested choice of labelled recordings / windows.
        check_fraction: the fraction whose recovery of the full-data macro-F1 is checked (issue target: 0.10 -> 90 %).
        embedding: ``pca`` or ``tsne`` for the 2-D embedding plot.
        embedding_max_windows: at most this many windows (seeded subsample) in the embedding plot.
        pretrain, finetune, scratch: partial recipe trees merged into the recipe for that stage.
    """

    source_pairs: list[str] = field(default_factory=lambda: ["Al-steel", "Ti-Ni"])
    target_pair: str = "Cu-SS"
    label_fractions: list[float] = field(default_factory=lambda: [0.05, 0.10, 0.25])
    fraction_unit: Literal["recordings", "windows"] = "recordings"
    fraction_seed: int = 0
    check_fraction: float = 0.10
    embedding: Literal["pca", "tsne"] = "pca"
    embedding_max_windows: int = 3000
    pretrain: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source_pairs:
            raise ValueError("transfer.source_pairs must name at least one pair")
        if self.target_pair in self.source_pairs:
            raise ValueError(f"transfer.target_pair {self.target_pair!r} is also a source pair")
        if not self.label_fractions or any(not 0.0 < f <= 1.0 for f in self.label_fractions):
            raise ValueError(f"transfer.label_fractions must be in (0, 1], got {self.label_fractions}")
        if len(set(self.label_fractions)) != len(self.label_fractions):
            raise ValueError(f"transfer.label_fractions has duplicates: {self.label_fractions}")
        if self.check_fraction not in self.label_fractions:
            raise ValueError(f"transfer.check_fraction {self.check_fraction} is not one of label_fractions "
                             f"{self.label_fractions}")
        if self.embedding_max_windows < 3:
            raise ValueError("transfer.embedding_max_windows must be >= 3")


@dataclass
class TransferRecipe(RecipeConfig):
    """A recipe with a ``transfer`` section (the model, data windows and training shared by all stages)."""

    transfer: TransferConfig = field(default_factory=TransferConfig)


def recipe_part(tr: TransferRecipe) -> RecipeConfig:
    """The plain :class:`RecipeConfig` of a transfer recipe (without its ``transfer`` section)."""
    return RecipeConfig(**{f.name: getattr(tr, f.name) for f in fields(RecipeConfig)})


def fraction_tag(fraction: float) -> str:
    """``0.05`` -> ``"5pct"``, ``0.125`` -> ``"12.5pct"`` (run folder names)."""
    return f"{fraction * 100:g}pct"


def stage_recipe(tr: TransferRecipe, stage: str, data: str, *, fraction: float = 1.0,
                 init_from: str | Path | None = None) -> RecipeConfig:
    """The training recipe of one stage (see module docstring); ``data`` becomes ``data.path``.

    Raises ``ConfigError`` naming ``transfer.<stage>`` when the stage's partial tree is invalid.
    """
    if stage not in STAGES:
        raise InvalidInput(f"unknown transfer stage {stage!r} (stages: {', '.join(STAGES)})")
    cfg = tr.transfer
    tree = deep_merge(to_dict(recipe_part(tr)), getattr(cfg, stage))
    tree["data"]["path"] = str(data)
    tree["data"]["filter"] = {**tree["data"].get("filter", {}),
                              "pairs": list(cfg.source_pairs) if stage == "pretrain" else [cfg.target_pair]}
    tree["name"] = f"{tr.name}-{stage}" + ("" if stage == "pretrain" else f"-{fraction_tag(fraction)}")
    if stage != "pretrain":
        tree["train"].update(label_fraction=float(fraction), label_fraction_unit=cfg.fraction_unit,
                             label_fraction_seed=cfg.fraction_seed)
    if stage == "finetune":
        if init_from is None:
            raise ValueError("the finetune stage needs the pre-trained checkpoint (init_from)")
        tree["train"]["init_from"] = str(init_from)
    try:
        return recipe_from_dict(tree)
    except ConfigError as err:
        raise ConfigError(f"transfer.{stage}: {err}") from None


def load_transfer_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TransferRecipe:
    """Read a transfer recipe (``base:`` merged, ``--set`` overrides applied), type-check it and every stage.

    Raises ``FileNotFoundError`` / ``ConfigError`` (message starting with the file, naming the key).
    """
    path = resolve_recipe_path(path)
    data = read_recipe_data(path)
    try:
        data = apply_overrides(data, list(overrides))
        if "transfer" not in data:
            raise ConfigError("not a transfer recipe (no 'transfer:' section)")
        tr = from_dict(TransferRecipe, data)
        for pair in (*tr.transfer.source_pairs, tr.transfer.target_pair):
            if pair not in tr.data.pairs:
                raise ConfigError(f"transfer: pair {pair!r} is not in data.pairs {tr.data.pairs} "
                                  f"(known pairs: {', '.join(MATERIAL_PAIRS)})")
        for stage in STAGES:  # fail now, not after an hour of pre-training
            stage_recipe(tr, stage, "data", fraction=tr.transfer.label_fractions[0], init_from="pretrain.pt")
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return tr


def run_plan(tr: TransferRecipe) -> list[tuple[str, float]]:
    """(stage, fraction) of every target-pair run in order: fine-tune and scratch per fraction, then the
    full-data scratch reference (fraction 1.0) unless already listed."""
    plan = []
    for f in sorted(tr.transfer.label_fractions):
        plan += [("finetune", f), ("scratch", f)]
    if 1.0 not in tr.transfer.label_fractions:
        plan.append(("scratch", 1.0))
    return plan
