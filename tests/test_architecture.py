"""The layering of docs/ARCHITECTURE.md, checked on the source: who may import whom.

    recipes core -> sensors -> datasets -> fusion (+ sensors/<name>/encoder.py plugins)
                 -> recipes.tree + tools libraries -> tools verbs

Every ``weldfusion`` import (module-level or inside a function) is checked; a function-level
import must say why it is lazy (``# lazy: ...`` on its line or on the line above its block).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("recipes", "sensors", "datasets", "fusion", "tools")
CORE = {"weldfusion.recipes.config", "weldfusion.recipes.errors", "weldfusion.recipes.files",
        "weldfusion.recipes.taxonomy", "weldfusion.recipes.weld",
        "weldfusion.recipes.training", "weldfusion.recipes"}
TOOL_LIBRARIES = ("weldfusion.tools.training", "weldfusion.tools.streaming", "weldfusion.tools.analysis",
                  "weldfusion.tools.benchmarks", "weldfusion.tools.welds", "weldfusion.tools.outputs", "weldfusion.tools.errors",
                  "weldfusion.tools.cli")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["weldfusion", *parts])


def layer(mod: str) -> int:
    """0 core, 1 sensors, 2 datasets, 3 fusion (and sensor encoders), 4 libraries, 5 verbs."""
    if mod in CORE:
        return 0
    if mod.startswith("weldfusion.sensors."):
        return 3 if mod.endswith(".encoder") else 1
    if mod == "weldfusion.sensors":
        return 1
    if mod.startswith("weldfusion.datasets"):
        return 2
    if mod.startswith("weldfusion.fusion"):
        return 3
    if mod == "weldfusion.recipes.tree" or mod.startswith(TOOL_LIBRARIES):
        return 4
    if mod.startswith("weldfusion.tools"):
        return 5
    raise AssertionError(f"{mod}: not in any layer")


def sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


def imports(path: Path):
    """(line, imported weldfusion module, inside a function, has a lazy reason) of one file."""
    src = path.read_text()
    lines = src.splitlines()
    tree = ast.parse(src)
    in_func = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
               for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            if node.module == "weldfusion.tools":  # from weldfusion.tools import synth, ...
                names = [f"weldfusion.tools.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        k = node.lineno - 1
        while k > 0 and lines[k - 1].lstrip().startswith(("import ", "from ")):
            k -= 1  # the first line of this block of imports
        reason = "lazy:" in lines[node.lineno - 1] or (k > 0 and "lazy:" in lines[k - 1])
        for name in names:
            yield node.lineno, name, id(node) in in_func, reason


def violations(paths: list[Path], root: Path = ROOT) -> list[str]:
    """Imports of a higher layer (libraries may import each other)."""
    bad = []
    for path in paths:
        me = module_name(path, root)
        for line, name, _, _ in imports(path):
            if not name.startswith("weldfusion"):
                continue
            if layer(name) > layer(me) and not (layer(me) == 4 and layer(name) == 4):
                bad.append(f"{path.relative_to(root)}:{line}: {me} (layer {layer(me)}) imports {name} "
                           f"(layer {layer(name)})")
    return bad


def test_every_module_imports_only_its_own_layer_or_below():
    bad = violations(sources())
    assert not bad, "\n".join(bad)


def test_the_layering_check_catches_an_upward_import(tmp_path):
    for rel, text in (("fusion/heads2.py", "from weldfusion.tools.cli import main\n"),
                      ("datasets/x.py", "def f():\n    import weldfusion.tools.training.run  # lazy: no excuse\n"),
                      ("sensors/video/io2.py", "from weldfusion.datasets.reader import Recording\n"),
                      ("sensors/video/encoder.py", "from weldfusion.fusion.encoder_base import Encoder\n")):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = violations(sorted(tmp_path.rglob("*.py")), tmp_path)
    assert [f.split(":")[0] for f in found] == ["datasets/x.py", "fusion/heads2.py", "sensors/video/io2.py"]


def test_no_library_layer_imports_tools():
    for path in sources():
        me = module_name(path)
        if me.startswith(("weldfusion.fusion", "weldfusion.datasets", "weldfusion.sensors")) or me in CORE:
            for line, name, _, _ in imports(path):
                assert not name.startswith("weldfusion.tools"), f"{path}:{line} imports {name}"


def test_tool_libraries_do_not_import_verbs():
    for path in sources():
        me = module_name(path)
        if layer(me) == 4:
            for line, name, _, _ in imports(path):
                if name.startswith("weldfusion"):
                    assert layer(name) <= 4, f"{path}:{line}: library {me} imports the verb {name}"


def test_function_level_imports_say_why_they_are_lazy():
    missing = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in sources()
               for line, name, in_func, reason in imports(path) if in_func and not reason]
    assert not missing, "function-level imports without a '# lazy: ...' reason:\n" + "\n".join(missing)


def test_no_verb_module_shadows_the_standard_library():
    """``python tools/<verb>.py`` puts tools/ first on sys.path: a tools/inspect.py would hide ``inspect``."""
    clash = [p.name for p in (ROOT / "tools").glob("*.py") if p.stem in sys.stdlib_module_names]
    assert not clash


def test_the_contracts_live_in_the_repository():
    """The format, manifest, taxonomy and CLI contracts and the module map are files of the repo,
    and whatever cites DESIGN.md cites that file."""
    for doc in ("docs/DESIGN.md", "docs/ARCHITECTURE.md"):
        assert (ROOT / doc).is_file(), doc
    for path in [*sources(), ROOT / "README.md"]:
        text = path.read_text()
        assert text.count("DESIGN.md") == text.count("docs/DESIGN.md"), f"{path}: cites DESIGN.md without docs/"


@pytest.mark.parametrize("mod", ["weldfusion.recipes.config", "weldfusion.recipes.errors", "weldfusion.recipes.taxonomy"])
def test_the_core_imports_nothing_of_weldfusion_but_itself(mod):
    path = ROOT / (mod.removeprefix("weldfusion.").replace(".", "/") + ".py")
    assert all(name in CORE for _, name, _, _ in imports(path) if name.startswith("weldfusion"))


def test_every_package_is_in_the_distribution():
    """setup.cfg lists the packages of a non-editable install: a new package folder must be there."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = {line.strip() for line in cfg["options"]["packages"].splitlines() if line.strip()}
    found = {module_name(p.parent / "__init__.py") for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
