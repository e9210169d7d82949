"""Every writer on a full disk (a 16 KiB tmpfs): one line naming the output, exit 2, nothing left.

Needs permission to mount a tmpfs (root, as in CI's container); skipped with the reason elsewhere.
"""

from __future__ import annotations

import importlib
import re
import subprocess

import pytest
import yaml
from _hostile import tree
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import make_recordings
from ingest_helpers import write_arc_recording
from weldfusion.datasets.raw_export import export_raw

pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("full_inputs")
    data = make_recordings(root / "data", per_pair=2)
    ck = write_checkpoint(root / "ck.pt", tiny_recipe(data))
    recipe = tiny_recipe(data)
    recipe["train"]["epochs"] = 1
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    write_arc_recording(root / "arc.h5", duration=1.0, seed=3)
    export_raw(root / "arc.h5", root / "raw", progress=False)
    return root, data, ck


@pytest.fixture
def full_disk(tmp_path):
    mnt = tmp_path / "full"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


VERBS = {
    "synth": lambda r, d, ck, o: ["--out", str(o / "sim"), "--runs", "1", "--pairs", "Al-steel", "--workers", "1"],
    "ingest": lambda r, d, ck, o: [str(r / "raw" / "recording.yaml"), "--out", str(o / "x.h5"), "--quiet"],
    "train": lambda r, d, ck, o: [str(r / "recipe.yaml"), "--out", str(o / "run"), "--quiet"],
    "evaluate": lambda r, d, ck, o: [str(ck), "--data", str(d), "--out", str(o / "eval"), "--split", "all", "--quiet"],
    "predict": lambda r, d, ck, o: [str(ck), "--data", str(d / "Al-steel_0.h5"), "--out", str(o / "pred"), "--quiet"],
    "stream": lambda r, d, ck, o: [str(ck), str(d / "Al-steel_0.h5"), "--out", str(o / "live.jsonl"), "--quiet"],
    "export": lambda r, d, ck, o: [str(ck), "--onnx", str(o / "m.onnx")],
    "raw_export": lambda r, d, ck, o: [str(r / "arc.h5"), str(o / "raw")],
    "ablate": lambda r, d, ck, o: [str(ck), "--data", str(d), "--out", str(o / "abl"), "--split", "all"],
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_full_disk_is_one_line_and_leaves_nothing(verb, inputs, full_disk, capsys):
    root, data, ck = inputs
    argv = VERBS[verb](root, data, ck, full_disk)
    code = importlib.import_module(f"weldfusion.tools.{verb}").cli(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and not re.search(r"\d+%\||\d+it \[", ln)]
    assert code == 2, err
    assert len(lines) == 1 and "No space left on device" in lines[0] and str(full_disk) in lines[0], err
    assert tree(full_disk) == []


def test_full_disk_keeps_the_previous_report_when_out_is_the_mount_point(inputs, full_disk, capsys):
    """``--out`` *is* the full file system: the staging folder lies inside it, so the old report
    stays whole (before, the final moves across file systems became copies and mixed two runs)."""
    root, data, ck = inputs
    old = {"metrics.json": '{"old": true}\n', "report.md": "# old report\n"}
    for name, text in old.items():
        (full_disk / name).write_text(text)
    code = importlib.import_module("weldfusion.tools.evaluate").cli(
        [str(ck), "--data", str(data), "--out", str(full_disk), "--split", "all", "--quiet", "--force"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err, err
    assert tree(full_disk) == sorted(old) and all((full_disk / n).read_text() == t for n, t in old.items())
