"""Reading and writing the small text files users hand in: bounded YAML, atomic text writes.

This module imports nothing of weldfusion but the error family: every layer may use it.

- :func:`load_yaml` is ``yaml.safe_load`` with bounds: a document larger than
  :data:`MAX_YAML_BYTES`, nested deeper than :data:`MAX_YAML_DEPTH`, using more than
  :data:`MAX_YAML_ALIASES` aliases or expanding to more than :data:`MAX_YAML_NODES` nodes (the
  "billion laughs" document) is refused with one line, as is any YAML tag (safe_load's own rule).
- :func:`atomic_write_text` writes through a temporary file in the same folder and a rename, so a
  full disk or a kill leaves the old file; a symlink is kept (its target is replaced) and so is
  the file's permission mode.
- :func:`temporary_name` is the one naming rule of every temporary output (``.<name>.tmp<pid>``),
  so :func:`remove_stale_temporaries` can clear what a killed process left behind.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import yaml
from weldfusion.recipes.errors import InvalidInput

#: Recipes and manifests are a few kilobytes; anything above this is not one.
MAX_YAML_BYTES = 1 << 20
#: Nesting depth of mappings/lists (a recipe is about 5 deep).
MAX_YAML_DEPTH = 64
#: Alias uses per document (recipes use none; a few are fine).
MAX_YAML_ALIASES = 100
#: Nodes of the document with every alias expanded (a recipe has a few hundred): bounds the
#: "billion laughs" document, in which few aliases expand to billions of nodes.
MAX_YAML_NODES = 100_000


class _Bound(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that counts nesting depth and alias uses while composing."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _Bound(f"more than {MAX_YAML_ALIASES} aliases")
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _Bound(f"nested deeper than {MAX_YAML_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str | bytes, where: str):
    """Parse one YAML document safely and within bounds; :class:`InvalidInput` naming ``where``."""
    if len(text) > MAX_YAML_BYTES:
        raise InvalidInput(f"{where}: {len(text)} bytes is larger than {MAX_YAML_BYTES} (not a recipe or manifest)")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise _Bound(f"expands to more than {MAX_YAML_NODES} nodes (aliases)")
        return loader.construct_document(node)
    except _Bound as err:
        raise InvalidInput(f"{where}: YAML {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InvalidInput(f"{where}: not valid YAML{at} ({problem})") from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias expanded (each shared node counted per use)."""
    key = id(node)
    if memo.get(key) == 0:
        raise _Bound("holds a recursive alias")
    if key not in memo:
        memo[key] = 0  # in progress
        if isinstance(node, yaml.SequenceNode):
            memo[key] += sum(_expanded_size(child, memo) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        memo[key] += 1
    return memo[key]


def read_text(path: str | os.PathLike, what: str) -> str:
    """A UTF-8 text file of at most :data:`MAX_YAML_BYTES`; one-line errors naming it."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise InvalidInput(f"{path}: {size} bytes is larger than {MAX_YAML_BYTES} (not a {what})")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not a text (UTF-8) file") from None


_TEMPORARY = re.compile(r"^\..+\.tmp(\d+)$")


def temporary_name(path: str | os.PathLike) -> Path:
    """Where ``path`` is written before its rename: ``.<name>.tmp<pid>`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie — dead, not yet reaped — does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary outputs (:func:`temporary_name`) in ``folder`` whose process is gone
    (killed with ``kill -9``, power loss); returns what was removed."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        m = _TEMPORARY.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file + rename; keeps a symlink and the file's mode."""
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    tmp = temporary_name(target)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
