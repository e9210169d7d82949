"""Typed config trees, --set overrides, the CLI dispatcher and its one-line errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
from weldfusion.recipes.config import ConfigError, apply_overrides, from_dict, load, save, to_dict
from weldfusion.sensors import modality_names
from weldfusion.tools import cli


@dataclass
class Inner:
    size: int = 4
    kinds: tuple[str, ...] = ("a",)
    mode: Literal["x", "y"] = "x"
    scale: float | None = None


@dataclass
class Root:
    name: str = "r"
    inner: Inner = field(default_factory=Inner)
    lr: float = 1e-3


def test_from_dict_and_overrides():
    cfg = from_dict(Root, apply_overrides({"inner": {"size": 8}}, ["lr=2e-3", "inner.kinds=[b, c]", "inner.mode=y"]))
    assert cfg == Root("r", Inner(8, ("b", "c"), "y", None), 2e-3)
    assert to_dict(cfg)["inner"]["kinds"] == ["b", "c"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"inner": {"sise": 3}}, "unknown config key 'inner.sise' (allowed in inner: "),
        ({"inner": {"size": "big"}}, "inner.size: expected an integer"),
        ({"inner": {"mode": "z"}}, "inner.mode: expected one of"),
        ({"lr": True}, "lr: expected a number"),
        ({"inner": 3}, "inner: expected a mapping"),
    ],
)
def test_bad_keys_and_types_are_named(data, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        from_dict(Root, data)


@dataclass
class WithFactory:
    inner: Inner = field(default_factory=lambda: Inner(size=16, kinds=("x", "y")))


def test_partial_section_keeps_the_fields_own_default():
    cfg = from_dict(WithFactory, {"inner": {"mode": "y"}})
    assert cfg.inner == Inner(size=16, kinds=("x", "y"), mode="y")
    assert from_dict(WithFactory, {}).inner.size == 16


def test_load_save_roundtrip(tmp_path):
    path = tmp_path / "r.yaml"
    save(Root(inner=Inner(size=2)), path)
    assert load(Root, path, ["inner.size=5"]).inner.size == 5
    (tmp_path / "bad.yaml").write_text("inner: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load(Root, tmp_path / "bad.yaml")
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load(Root, tmp_path / "nope.yaml")


def test_modalities_in_canonical_order():
    assert modality_names()[:4] == ("video", "thermal", "acoustic", "electrical")


def test_cli_usage_and_unknown_verb(capsys):
    assert cli.main([]) == 0
    assert "synth" in capsys.readouterr().out
    assert cli.main(["frobnicate"]) == 2
    assert "unknown verb 'frobnicate'" in capsys.readouterr().err
