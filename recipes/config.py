"""Typed configuration trees built from YAML recipes.

Configs are (nested) frozen-free dataclasses. :func:`from_dict` builds one from plain data and
rejects unknown keys and wrong types with the dotted key in the message; :func:`apply_overrides`
applies ``--set a.b=c`` strings (values parsed with ``yaml.safe_load``); :func:`to_dict` gives
back plain data for saving next to a checkpoint.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.recipes.files import atomic_write_text, load_yaml, read_text

T = TypeVar("T")


class ConfigError(InvalidInput):
    """A recipe key is unknown or has the wrong type; the message names the dotted key."""


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:  # X | None: the error of X names the inner key
            return _coerce(value, members[0], key)
        for arg in members:
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: expected one of {list(args)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, prefix=key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        kt, vt = args or (Any, Any)
        return {_coerce(k, kt, key): _coerce(v, vt, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads "2e-3" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _field_default(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def deep_merge(base: dict, top: dict) -> dict:
    """``top`` merged into ``base`` key by key (the one merge of config data: recipe ``base:`` chains,
    partial sections, transfer stages). Mappings merge recursively; any other value of ``top``
    replaces ``base``'s. Neither input is modified (values are deep-copied)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def from_dict(cls: type[T], data: dict, prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types raise :class:`ConfigError`."""
    if data is None:
        data = {}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"unknown config key '{where}{unknown[0]}'" + f" (allowed{' in ' + prefix if prefix else ''}: {', '.join(fields)})"
        )
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        base = _field_default(fields[name])
        if isinstance(value, dict) and dataclasses.is_dataclass(base):
            # a partial section overrides the field's own default, not the class defaults
            value = deep_merge(to_dict(base), value)
        kwargs[name] = _coerce(value, hints[name], key)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{prefix or cls.__name__}: {err}") from None
    return obj


def to_dict(cfg) -> dict:
    """Plain nested dict/list data of a config (tuples become lists), for YAML/JSON."""

    def plain(v):
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``key.sub=value`` strings to plain config data (values parsed as YAML scalars/lists)."""
    data = dict(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"--set {item!r}: empty key segment")
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[parts[-1]] = load_yaml(raw, f"--set {key.strip()}")
    return data


def read_yaml_mapping(path: str | Path, what: str = "recipe") -> dict:
    """The top-level mapping of a YAML file (``yaml.safe_load``; empty file = ``{}``); one-line
    :class:`ConfigError` naming the file when it is not valid YAML or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such {what} file")
    try:
        data = load_yaml(read_text(path, what), str(path)) or {}
    except InvalidInput as err:
        raise ConfigError(str(err)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} must be a mapping at the top level")
    return data


def load(cls: type[T], path: str | Path, overrides: list[str] = (), what: str = "recipe") -> T:
    """Read a YAML recipe (or another typed file: ``what`` names it in errors) with
    ``yaml.safe_load``, apply overrides, build ``cls``."""
    path = Path(path)
    data = read_yaml_mapping(path, what)
    try:
        return from_dict(cls, apply_overrides(data, list(overrides)))
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def save(cfg, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically: a full disk leaves no truncated file)."""
    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
