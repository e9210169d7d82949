"""The hostile-input corpus run through every verb that reads it (issue 18).

Every broken recording of ``tests/_hostile.py`` goes through ``evaluate``, ``predict``, ``stream``,
``ablate``, ``raw-export``, ``probe`` and ``train`` (and ``inspect``, which reports the problems
with exit code 1). Each verb must end with exit code 2 and one line on stderr that names the
file, leave no output and no temporary file behind, and leave the input untouched — never a
traceback. Recipes, manifests and ``--set`` values that attack the YAML reader are refused the
same way.
"""

from __future__ import annotations

import importlib
import re
import shutil

import pytest
import yaml
from _hostile import (
    CHECKPOINT_CASES,
    MANIFEST_CASES,
    MANIFEST_WARNINGS,
    RECORDING_CASES,
    digest,
    make_case,
    make_checkpoint_case,
    tree,
)
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording

pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")

#: verb module -> argv for (recording, folder for outputs, checkpoint, recipe)
VERBS = {
    "evaluate": lambda r, o, ck, rc: [str(ck), "--data", str(r), "--out", str(o / "eval"), "--split", "all",
                                      "--quiet"],
    "predict": lambda r, o, ck, rc: [str(ck), "--data", str(r), "--out", str(o / "pred"), "--quiet"],
    "stream": lambda r, o, ck, rc: [str(ck), str(r), "--out", str(o / "live.csv"), "--quiet"],
    "ablate": lambda r, o, ck, rc: [str(ck), "--data", str(r), "--out", str(o / "abl"), "--split", "all"],
    "raw_export": lambda r, o, ck, rc: [str(r), str(o / "raw")],
    "probe": lambda r, o, ck, rc: [str(r.parent), "--json", str(o / "probe.json")],
    "train": lambda r, o, ck, rc: [str(rc), "--out", str(o / "run"), "--data", str(r.parent), "--quiet"],
    "serve_replay": lambda r, o, ck, rc: [str(r), "--opcua", "1", "--opcua-map", str(o / "nodes.yaml"),
                                          "--lead-s", "0"],
}
VERB_NAMES = {"raw_export": "raw-export", "serve_replay": "serve-replay"}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    data = root / "good"
    data.mkdir()
    rec = write_recording(data / "a.h5", "a", "Al-steel", "GMAW", seed=4)
    write_recording(data / "b.h5", "b", "Cu-SS", "GMAW", seed=5)
    ck = write_checkpoint(root / "ck.pt", tiny_recipe(data))
    recipe = root / "recipe.yaml"
    data_recipe = tiny_recipe(data)
    data_recipe["train"]["epochs"] = 1
    recipe.write_text(yaml.safe_dump(data_recipe))
    return rec, ck, recipe


def _run(verb: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr without progress-bar lines."""
    code = importlib.import_module(f"weldfusion.tools.{verb}").cli(argv)
    out = capsys.readouterr()
    err = "\n".join(line for line in out.err.replace("\r", "\n").splitlines() if not re.search(r"\d+%\|", line))
    return code, out.out, err


def _inputs_for(verb: str, case: str, good, tmp_path):
    """The broken recording, alone in its folder, except for ``train`` (it also needs good ones for
    its splits, so the broken file sits among them)."""
    rec, _, _ = good
    folder = tmp_path / "in"
    if verb == "train":
        folder.mkdir()
        for f in rec.parent.glob("*.h5"):
            shutil.copy(f, folder / f.name)
    return make_case(rec, folder, case)


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("case", [c for c, _ in RECORDING_CASES])
def test_broken_recording_is_refused_with_one_line(verb, case, good, tmp_path, capsys):
    rec, ck, recipe = good
    broken = _inputs_for(verb, case, good, tmp_path)
    before = digest(broken)
    inputs = tree(broken.parent)
    outs = tmp_path / "outs"
    outs.mkdir()
    code, _, err = _run(verb, VERBS[verb](broken, outs, ck, recipe), capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith(f"weldfusion {VERB_NAMES.get(verb, verb)}: error: "), err
    assert str(broken) in lines[0], err
    assert "Traceback" not in err
    assert tree(outs) == [], tree(outs)  # no output, no staging folder, no temporary file
    assert tree(broken.parent) == inputs and digest(broken) == before  # input untouched


@pytest.mark.parametrize("case", [c for c, _ in RECORDING_CASES])
def test_inspect_lists_the_problems(case, good, tmp_path, capsys):
    rec, _, _ = good
    broken = make_case(rec, tmp_path, case)
    code, out, err = _run("inspect_recording", [str(broken)], capsys)
    assert "Traceback" not in err
    if code == 2:  # not even HDF5: one line like every verb
        assert len(err.strip().splitlines()) == 1 and str(broken) in err
    else:
        assert code == 1 and "validator:" in out and "problem(s)" in out, out


YAML_ATTACKS = {
    "deep_nesting": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "billion_laughs": "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(["*" + chr(97 + i)] * 9) + "]\n" for i in range(9)),
    "recursive_alias": "a: &a [1, *a]\n",
    "python_tag": "a: !!python/object/apply:os.system ['true']\n",
    "huge": "a: '" + "x" * (2 << 20) + "'\n",
    "binary": "\udcff",
}


@pytest.mark.parametrize("attack", sorted(YAML_ATTACKS))
@pytest.mark.parametrize("reader", ["train", "ingest"])
def test_yaml_attacks_are_one_line(reader, attack, tmp_path, capsys):
    path = tmp_path / "attack.yaml"
    text = YAML_ATTACKS[attack]
    if attack == "binary":
        path.write_bytes(b"a: \xff\xfe\x00\x01")
    else:
        path.write_text(text)
    argv = [str(path), "--out", str(tmp_path / ("run" if reader == "train" else "x.h5"))]
    code, _, err = _run(reader, argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(path) in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attack.yaml"]


@pytest.mark.parametrize("value", ["!!python/object/apply:os.system ['true']", "[" * 5000, "&a [1, *a]"])
def test_set_values_are_bounded_yaml(value, good, tmp_path, capsys):
    _, _, recipe = good
    code, _, err = _run("train", [str(recipe), "--out", str(tmp_path / "run"), "--set", f"train.epochs={value}"],
                        capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--set train.epochs" in lines[0], err
    assert not (tmp_path / "run").exists()


CHECKPOINT_VERBS = {
    "evaluate": lambda c, o, r: [str(c), "--data", str(r.parent), "--out", str(o / "eval"), "--split", "all",
                                 "--quiet"],
    "predict": lambda c, o, r: [str(c), "--data", str(r), "--out", str(o / "pred"), "--quiet"],
    "stream": lambda c, o, r: [str(c), str(r), "--out", str(o / "live.csv"), "--quiet"],
    "ablate": lambda c, o, r: [str(c), "--data", str(r), "--out", str(o / "abl"), "--split", "all"],
    "export": lambda c, o, r: [str(c), "--onnx", str(o / "m.onnx")],
}


@pytest.mark.parametrize("verb", sorted(CHECKPOINT_VERBS) + ["train --init-from"])
@pytest.mark.parametrize("case", [c for c, _ in CHECKPOINT_CASES])
def test_broken_checkpoint_is_refused_with_one_line(verb, case, good, tmp_path, capsys):
    rec, ck, recipe = good
    broken = make_checkpoint_case(ck, tmp_path / "in", case)
    before = digest(broken)
    outs = tmp_path / "outs"
    outs.mkdir()
    if verb == "train --init-from":
        if case in ("bad_info", "bad_norm", "nan_thresholds", "short_thresholds", "no_config", "missing_tensors"):
            pytest.skip("init-from takes the matching weights only (documented: the others stay fresh)")
        code, out, err = _run("train", [str(recipe), "--out", str(outs / "run"), "--set",
                                        f"train.init_from={broken}", "--quiet"], capsys)
    else:
        code, out, err = _run(verb, CHECKPOINT_VERBS[verb](broken, outs, rec), capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(broken) in lines[0], err
    assert "unpickled" not in out + err
    assert tree(outs) == [] and digest(broken) == before


def _edited(raw, fn):
    path = raw / "recording.yaml"
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("case", [c for c, _ in MANIFEST_CASES])
def test_impossible_manifest_is_refused(case, raw, tmp_path, capsys):
    manifest = _edited(raw, dict(MANIFEST_CASES)[case])
    before = tree(raw)
    out = tmp_path / "outs" / "x.h5"
    code, _, err = _run("ingest", [str(manifest), "--out", str(out), "--quiet"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert str(raw) in lines[0] or "/etc/passwd" in lines[0], err  # the manifest or the file it names
    assert "root:" not in err  # a system file's content is never echoed
    assert not out.parent.exists() or tree(out.parent) == []
    assert tree(raw) == before


@pytest.mark.parametrize("case", [c for c, _, _ in MANIFEST_WARNINGS])
def test_implausible_manifest_is_ingested_with_a_warning(case, raw, tmp_path, capsys):
    _, fn, words = next(c for c in MANIFEST_WARNINGS if c[0] == case)
    manifest = _edited(raw, fn)
    out = tmp_path / "x.h5"
    code, text, err = _run("ingest", [str(manifest), "--out", str(out), "--quiet"], capsys)
    assert code == 0 and out.is_file(), err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warnings and all(str(out) in w for w in warnings) and any(words in w for w in warnings), err
    code, text, _ = _run("inspect_recording", [str(out)], capsys)
    assert code == 0 and any(words in line for line in text.splitlines() if line.startswith("warning: ")), text


@pytest.mark.parametrize("link", ["loop", "dangling"])
def test_frame_behind_a_bad_link_is_refused_not_skipped(link, raw, tmp_path, capsys):
    """A skipped frame would put every later frame one period early."""
    frames = sorted((raw / "thermal").iterdir())
    bad = frames[len(frames) // 2]
    bad.unlink()
    if link == "loop":
        bad.symlink_to(bad.name)
    else:
        bad.symlink_to("nowhere.tiff")
    code, _, err = _run("ingest", [str(raw / "recording.yaml"), "--out", str(tmp_path / "x.h5"), "--quiet"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(bad) in lines[0], err
    assert not (tmp_path / "x.h5").exists()
