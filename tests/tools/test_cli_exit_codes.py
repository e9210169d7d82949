"""How verbs end: user errors are one line + exit 2, bugs are tracebacks + exit 1; help texts."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest
from weldfusion.recipes.errors import InvalidInput, MissingInput, OutputExists, UserError
from weldfusion.tools.cli import VERBS
from weldfusion.tools.cli import main as weldfusion
from weldfusion.tools.errors import run


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("exc", [InvalidInput("a.h5: bad"), MissingInput("a.h5: missing"), OutputExists("a: exists")])
def test_user_errors_are_one_line_and_exit_2(exc, capsys):
    def main(argv):
        raise exc

    assert run("demo", main, []) == 2
    assert one_line_error(capsys) == f"weldfusion demo: error: {exc}"


@pytest.mark.parametrize("exc", [KeyError("current"), ValueError("cannot reshape"), TypeError("x"),
                                 OSError("not from the OS"), ZeroDivisionError()])
def test_bugs_propagate(exc):
    def main(argv):
        raise exc

    with pytest.raises(type(exc)):
        run("demo", main, [])


def test_an_os_error_about_a_named_file_is_the_environment(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    rec = tmp_path / "none.h5"
    code = weldfusion(["inspect", str(rec), "--plot", str(blocker / "sub" / "x.png")])
    assert code == 2
    line = one_line_error(capsys)
    assert "file.txt" in line and line.startswith("weldfusion inspect: error: ")


def test_a_bug_in_a_real_process_is_a_traceback_with_exit_1(tmp_path):
    """A KeyError deep inside the code is not shown as if it were the user's mistake."""
    code = (
        "import sys\n"
        "import weldfusion.datasets.validate as v\n"
        "def broken(path):\n"
        "    raise KeyError('internal state')\n"
        "v.check = broken\n"
        "import weldfusion.tools.inspect_recording as verb\n"
        "verb.check = broken\n"
        "from weldfusion.tools.cli import main\n"
        f"sys.exit(main(['inspect', {str(tmp_path / 'x.h5')!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "KeyError: 'internal state'" in proc.stderr
    assert "error: " not in proc.stderr.splitlines()[-1].split("KeyError")[0]


def test_a_user_error_in_a_real_process_is_one_line_with_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "weldfusion.tools.cli", "inspect", str(tmp_path / "none.h5")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"weldfusion inspect: error: {tmp_path / 'none.h5'}: no such recording file"]
    assert "Traceback" not in proc.stderr


def test_user_error_classes_keep_their_builtin_bases():
    assert issubclass(InvalidInput, ValueError) and issubclass(MissingInput, FileNotFoundError)
    assert issubclass(OutputExists, FileExistsError) and all(issubclass(c, UserError)
                                                             for c in (InvalidInput, MissingInput, OutputExists))


class _Parser(Exception):
    def __init__(self, parser):
        self.parser = parser


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_option_has_help_without_stray_backticks(verb, monkeypatch):
    module = importlib.import_module(f"weldfusion.tools.{VERBS[verb][0]}")

    def capture(self, args=None, namespace=None):
        raise _Parser(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Parser) as got:
        module.main([])
    parser = got.value.parser
    assert parser.prog == f"weldfusion {verb}"
    texts = [parser.description or ""]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{verb}: {action.option_strings or action.dest} has no help line"
        texts.append(action.help)
    for text in texts:
        assert "`" not in text, f"{verb}: stray backtick in {text!r}"
