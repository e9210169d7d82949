"""The recipe: one typed config tree for a training run, read from YAML.

``RecipeConfig`` = ``name``, ``seed`` and the sections ``data`` (:class:`~weldfusion.datasets.config.DataConfig`),
``model`` (:class:`~weldfusion.fusion.config.ModelConfig`), ``loss``
(:class:`~weldfusion.fusion.config.LossConfig`), ``train`` (:class:`~weldfusion.recipes.training.TrainConfig`)
``eval`` (:class:`~weldfusion.recipes.training.EvalConfig`) and the weld-level sections ``accept``,
``limits``, ``seam`` (:mod:`weldfusion.recipes.weld`).

A recipe file may start from another with a top-level ``base: other.yaml`` (path relative to the
recipe, or the name of a packaged recipe); its mappings are merged key by key, the recipe winning.
``--set a.b=c`` overrides are applied after the merge. Unknown keys and wrong types raise
:class:`~weldfusion.recipes.config.ConfigError` naming the dotted key. The fully resolved tree is
saved as ``RUN_DIR/config.yaml`` and inside every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from weldfusion.datasets.config import DataConfig
from weldfusion.fusion.config import LossConfig, ModelConfig
from weldfusion.recipes.config import ConfigError, apply_overrides, deep_merge, from_dict, read_yaml_mapping, save, to_dict
from weldfusion.recipes.errors import MissingInput
from weldfusion.recipes.training import EvalConfig, TrainConfig
from weldfusion.recipes.weld import AcceptConfig, LimitsConfig, SeamConfig

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


@dataclass
class RecipeConfig:
    """Root of a training recipe (see module docstring)."""

    name: str = "recipe"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    accept: AcceptConfig = field(default_factory=AcceptConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    seam: SeamConfig = field(default_factory=SeamConfig)

    def __post_init__(self) -> None:
        loc = self.model.localisation
        if loc.enabled and loc.modality not in self.data.localisation:
            raise ValueError(f"model.localisation heads on {loc.modality!r} need its truth in the windows: "
                             f"set data.localisation: [{loc.modality}]")
        jitter = self.train.rate_jitter
        if loc.enabled and jitter.prob > 0 and (jitter.modalities is None or loc.modality in jitter.modalities):
            raise ValueError(f"train.rate_jitter holds {loc.modality} frames, which would leave the localisation "
                             f"targets on the frames they replace: leave {loc.modality} out of rate_jitter.modalities")


def resolve_recipe_path(path: str | Path, relative_to: Path | None = None) -> Path:
    """A recipe file: ``path`` as given (or relative to ``relative_to``), else a packaged recipe of that name."""
    p = Path(path)
    candidates = [p] if relative_to is None or p.is_absolute() else [relative_to / p, p]
    stem = p.name if p.suffix in (".yaml", ".yml") else f"{p.name}.yaml"
    candidates.append(RECIPES_DIR / stem)
    for c in candidates:
        if c.is_file():
            return c
    raise MissingInput(f"{path}: no such recipe file (nor a packaged recipe {stem!r} in {RECIPES_DIR})")


def read_recipe_data(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """Plain data of a recipe file with its ``base:`` chain merged in (no overrides, not yet typed)."""
    path = resolve_recipe_path(path)
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: recipe 'base' chain loops back onto itself")
    data = read_yaml_mapping(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected a recipe file name, got {base!r}")
    parent = read_recipe_data(resolve_recipe_path(base, relative_to=path.parent), (*_seen, path.resolve()))
    return deep_merge(parent, data)


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RecipeConfig:
    """Read a recipe YAML (``yaml.safe_load``), merge its ``base``, apply ``--set`` overrides, type-check it.

    Raises:
        FileNotFoundError: no such recipe.
        ConfigError: unknown key / wrong type / bad value; the message starts with the file and names the key.
    """
    path = resolve_recipe_path(path)
    data = read_recipe_data(path)
    try:
        data = apply_overrides(data, list(overrides))
        return from_dict(RecipeConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def recipe_from_dict(data: dict) -> RecipeConfig:
    """Rebuild a resolved recipe (e.g. the ``config`` stored in a checkpoint)."""
    return from_dict(RecipeConfig, data)


def save_recipe(cfg: RecipeConfig, path: str | Path) -> None:
    """Write the resolved recipe as YAML (what ``RUN_DIR/config.yaml`` holds)."""
    save(cfg, path)


__all__ = ["RecipeConfig", "load_recipe", "recipe_from_dict", "save_recipe", "read_recipe_data", "to_dict",
           "resolve_recipe_path"]
