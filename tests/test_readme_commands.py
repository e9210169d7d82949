"""Every ``weldfusion`` command in the README runs as written after the quick start (issue 18).

Three checks, in README order:

1. every command names a real verb and its arguments parse (the verb's own argparse parser);
2. every file or folder a command reads exists at that point: made by the quick start
   (``weldfusion demo`` -> ``out/demo/{data,run,eval,ablate}``), by an earlier README command,
   or shipped in the repository;
3. the cheap ones (ingest, inspect, sync, raw-export, stream, export, predict, evaluate on the
   quick start's outputs) really run — on a stand-in for ``out/demo`` (short simulated welds of
   the same names and a tiny checkpoint), from a scratch working directory.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import shutil
from pathlib import Path

import pytest
from weldfusion.tools.cli import VERBS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: What the quick start (``weldfusion demo``) leaves behind.
QUICK_START = ("out/demo/data", "out/demo/run", "out/demo/eval", "out/demo/ablate")
#: Options that name a file or folder a command writes (besides the positional outputs below).
OUTPUT_FLAGS = {"--out", "--plot", "--json"}
POSITIONAL_OUTPUTS = {"raw-export": 1}  # index among the positionals
#: Verbs run for real in check 3.
CHEAP = {"raw-export", "sync", "ingest", "inspect", "stream", "export", "predict", "evaluate"}


def readme_commands() -> list[list[str]]:
    """``weldfusion`` command lines of the README's bash blocks, in order, as argv lists."""
    out, inside = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() in ("```bash", "```sh") and not inside
            continue
        if inside and line.startswith("weldfusion "):
            argv = shlex.split(line, comments=True)
            out.append(argv[1:])
    return out


def _module(verb: str):
    assert verb in VERBS, f"README uses unknown verb {verb!r}"
    return importlib.import_module(f"weldfusion.tools.{VERBS[verb][0]}")


class _Parsed(Exception):
    pass


def _parse(verb: str, argv: list[str], monkeypatch) -> argparse.Namespace:
    original = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, "parse_args", parse_only)
        with pytest.raises(_Parsed) as caught:
            _module(verb).main(argv)
    return caught.value.args[0]


def _paths(verb: str, argv: list[str]) -> tuple[list[str], list[str]]:
    """(inputs, outputs) that look like paths."""
    inputs, outputs, positionals = [], [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            value = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("--") else None
            if value is not None:
                is_out = a in OUTPUT_FLAGS or (verb == "export" and a == "--onnx")
                (outputs if is_out else inputs).append(value)
                i += 1
        else:
            positionals.append(a)
        i += 1
    for k, p in enumerate(positionals):
        (outputs if POSITIONAL_OUTPUTS.get(verb) == k else inputs).append(p)
    looks = re.compile(r"/|\.(h5|pt|yaml|onnx|csv|png|json)$")
    return [p for p in inputs if looks.search(p)], [p for p in outputs if looks.search(p)]


def test_readme_has_commands():
    cmds = readme_commands()
    assert len(cmds) >= 20 and {c[0] for c in cmds} >= {"synth", "train", "evaluate", "predict", "stream", "ingest"}


def test_every_command_parses_and_reads_only_what_exists_by_then(monkeypatch):
    made: list[str] = list(QUICK_START)
    for argv in readme_commands():
        verb, args = argv[0], argv[1:]
        _parse(verb, args, monkeypatch)
        inputs, outputs = _paths(verb, args)
        for p in inputs:
            known = (ROOT / p).exists() or any(p == m or p.startswith(m.rstrip("/") + "/") for m in made)
            assert known, f"`weldfusion {' '.join(argv)}`: {p} is neither made by the quick start, by an " \
                          "earlier README command, nor in the repository"
        made += outputs


@pytest.fixture
def quick_start_stand_in(tmp_path, monkeypatch):
    """A scratch working directory with ``out/demo/data`` (short simulated welds under the demo's
    names) and ``out/demo/run/best.pt`` (a tiny checkpoint on them)."""
    from _stream_helpers import tiny_recipe, write_checkpoint
    from weldfusion.tools import synth

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "out" / "demo" / "data"
    assert synth.cli(["--out", str(data), "--runs", "4", "--pairs", "Al-steel", "--duration-s", "4",
                      "--workers", "1"]) == 0
    write_checkpoint(tmp_path / "out" / "demo" / "run" / "best.pt", tiny_recipe(data))
    return tmp_path


def test_cheap_commands_run_as_written(quick_start_stand_in, capsys, restore_threads):
    ran = []
    for argv in readme_commands():
        verb, args = argv[0], argv[1:]
        if verb not in CHEAP or not all(Path(p).exists() for p in _paths(verb, args)[0]):
            continue  # expensive, or reads what an expensive command makes
        if verb == "evaluate" and "--force" not in args:
            continue
        code = _module(verb).cli(args)
        err = capsys.readouterr().err
        assert code == 0, f"`weldfusion {' '.join(argv)}` -> exit {code}: {err[-500:]}"
        ran.append(verb)
    assert {"raw-export", "sync", "ingest", "inspect", "stream", "export", "predict", "evaluate"} <= set(ran), ran
    shutil.rmtree(quick_start_stand_in / "out", ignore_errors=True)
