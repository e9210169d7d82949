"""Recipes: the typed tree, overrides, unknown keys, `base:` merging, saved config round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from weldfusion.recipes.config import ConfigError, to_dict
from weldfusion.recipes.tree import RECIPES_DIR, RecipeConfig, load_recipe, recipe_from_dict, save_recipe

# the training recipes of this module (transfer/baseline recipes are tested with their tools)
SHIPPED = [RECIPES_DIR / f"{n}.yaml" for n in ("fusion_all", "al-steel_gmaw", "ti-ni_laser", "cu-ss_gmaw")]


def test_shipped_recipes_exist():
    assert all(p.is_file() for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_recipe_loads(path):
    cfg = load_recipe(path)
    assert isinstance(cfg, RecipeConfig) and cfg.name == path.stem
    assert cfg.data.window_s > 0 and cfg.train.epochs >= 1


def test_pair_recipes_filter_their_pair():
    assert load_recipe("al-steel_gmaw").data.filter.pairs == ["Al-steel"]
    assert load_recipe("cu-ss_gmaw").data.filter.pairs == ["Cu-SS"]
    assert load_recipe("ti-ni_laser").data.filter.pairs == ["Ti-Ni"]
    assert load_recipe("fusion_all").data.filter.pairs is None


def test_overrides_and_types(tmp_path):
    cfg = load_recipe(RECIPES_DIR / "fusion_all.yaml", ["train.lr=1e-4", "model.dim=32", "data.path=/x/y"])
    assert cfg.train.lr == 1e-4 and cfg.model.dim == 32 and cfg.data.path == "/x/y"
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        load_recipe(RECIPES_DIR / "fusion_all.yaml", ["train.epochs=many"])
    with pytest.raises(ConfigError, match=r"'train\.learning_rate'"):
        load_recipe(RECIPES_DIR / "fusion_all.yaml", ["train.learning_rate=1"])


def test_unknown_key_in_file_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmodel:\n  video:\n    patch_sizee: 4\n")
    with pytest.raises(ConfigError) as err:
        load_recipe(bad)
    assert "'model.video.patch_sizee'" in str(err.value) and str(bad) in str(err.value)
    with pytest.raises(FileNotFoundError):
        load_recipe(tmp_path / "missing.yaml")


def test_base_is_merged_key_by_key(tmp_path):
    (tmp_path / "parent.yaml").write_text("name: parent\ntrain: {epochs: 3, lr: 0.01}\n")
    (tmp_path / "child.yaml").write_text("base: parent.yaml\nname: child\ntrain: {epochs: 5}\n")
    cfg = load_recipe(tmp_path / "child.yaml")
    assert (cfg.name, cfg.train.epochs, cfg.train.lr) == ("child", 5, 0.01)
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="loops"):
        load_recipe(tmp_path / "loop.yaml")


def test_saved_config_round_trips(tmp_path: Path):
    cfg = load_recipe("fusion_all", ["seed=7"])
    save_recipe(cfg, tmp_path / "config.yaml")
    again = load_recipe(tmp_path / "config.yaml")
    assert to_dict(again) == to_dict(cfg) and again.seed == 7
    assert to_dict(recipe_from_dict(to_dict(cfg))) == to_dict(cfg)
