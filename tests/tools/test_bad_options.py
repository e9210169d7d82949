"""Numeric options are checked (finite, in range) and refused with one line and exit 2."""

from __future__ import annotations

import pytest
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording

pytestmark = pytest.mark.usefixtures("restore_threads")  # stream / export set the process's torch threads


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("opt_data")
    rec = write_recording(d / "a.h5", "a", "Al-steel", "GMAW", seed=0)
    write_recording(d / "b.h5", "b", "Cu-SS", "GMAW", seed=1)
    return write_checkpoint(tmp_path_factory.mktemp("opt_ck") / "tiny.pt", tiny_recipe(d)), rec, d


@pytest.mark.parametrize(("verb", "args", "words"), [
    ("synth", ["--video-rate", "inf"], ("video_rate",)),
    ("synth", ["--video-rate", "nan"], ("video_rate",)),
    ("export", ["--opset", "99"], ("--opset", "17-20")),
    ("stream", ["--alarm-on", "nan"], ("p_on",)),
    ("evaluate", ["--batch-size", "0"], ("--batch-size",)),
    ("ablate", ["--key-tolerance-s", "nan"], ("--region-mm",)),
])
def test_bad_numbers_are_one_line_errors(tiny, tmp_path, capsys, verb, args, words):
    from weldfusion.tools.cli import main

    ck, rec, data = tiny
    out = tmp_path / "out"
    argv = {"synth": ["synth", "--out", str(out), "--runs", "1"],
            "export": ["export", str(ck), "--onnx", str(tmp_path / "m.onnx")],
            "stream": ["stream", str(ck), str(rec)],
            "evaluate": ["evaluate", str(ck), "--data", str(data), "--out", str(out), "--split", "all"],
            "ablate": ["ablate", str(ck), "--data", str(data), "--out", str(out), "--split", "all"]}[verb]
    assert main([*argv, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"weldfusion {verb}: error: ") and all(w in err[0] for w in words), err
    assert not out.exists() and not (tmp_path / "m.onnx").exists()
