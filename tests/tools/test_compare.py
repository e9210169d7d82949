"""`weldfusion compare` and the SVM baseline tool on tiny trained runs (fusion + two baselines)."""

from __future__ import annotations

import json

import pytest

TINY_BASELINES = {
    "transformer": {"arch": "transformer",
                    "baselines": {"transformer": {"layers": 1, "heads": 2, "ff_mult": 2, "video_tubelet": [2, 4, 4],
                                                  "thermal_tubelet": [2, 4, 4]}}},
}
PLAIN_LOSS = {"contrastive": False, "semantic_similarity": False, "temporal_consistency": False}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    from _training_data import TINY_RECIPE, make_recordings, write_recipe
    from weldfusion.tools.train import main as train_main

    root = tmp_path_factory.mktemp("compare")
    data = make_recordings(root / "data")
    train = {"epochs": 1, "checkpoint_every_steps": 0}
    runs = {}
    recipe = write_recipe(root / "fusion.yaml", data, train=train)
    assert train_main([str(recipe), "--out", str(root / "fusion"), "--quiet"]) == 0
    runs["fusion"] = root / "fusion"
    for name, model in TINY_BASELINES.items():
        recipe = write_recipe(root / f"{name}.yaml", data, name=f"tiny_{name}", train=train, loss=PLAIN_LOSS,
                              model={**TINY_RECIPE["model"], **model})
        assert train_main([str(recipe), "--out", str(root / name), "--quiet"]) == 0
        runs[name] = root / name
    return runs, data, root


@pytest.mark.slow
def test_compare_scores_every_model_on_the_same_windows(tiny_runs, tmp_path, capsys):
    from weldfusion.tools.compare import cli

    runs, data, _ = tiny_runs
    out = tmp_path / "cmp"
    argv = [str(runs["fusion"]), str(runs["transformer"] / "best.pt"), "--data", str(data),
            "--out", str(out), "--svm", "--threads", "1", "--latency-windows", "3", "--quiet"]
    assert cli(argv) == 0
    printed = capsys.readouterr().out
    assert "| fusion |" in printed and "| svm |" in printed
    assert sorted(p.name for p in out.iterdir()) == ["compare.json", "compare.md", "fusion", "svm", "transformer"]
    report = json.loads((out / "compare.json").read_text())
    assert [m["name"] for m in report["models"]] == ["fusion", "transformer", "svm"]
    assert [m["arch"] for m in report["models"]] == ["msstan", "transformer", "svm"]
    test_split = (runs["fusion"] / "splits" / "test.txt").read_text()
    assert report["recordings"] and all(f"{r}.h5" in test_split for r in report["recordings"])
    for m in report["models"]:
        for value in (m["phase"]["accuracy"], m["phase"]["recall_macro"], m["phase"]["macro_f1"]):
            assert 0.0 <= value <= 1.0
        assert m["ms_per_window"]["b1"] > 0
        full = json.loads((out / m["name"] / "metrics.json").read_text())
        assert full["n_windows"] == report["n_windows"]
        assert full["phase"]["macro_f1"] == m["phase"]["macro_f1"]
    assert set(report["fusion_vs"]) == {"transformer", "svm"}
    assert report["models"][0]["params"] > 0 and report["models"][2]["params"] is None
    md = (out / "compare.md").read_text()
    assert "| model | recipe | params | phase acc. %" in md and "batch 1 on 1 torch thread" in md


@pytest.mark.slow
def test_compare_refuses_runs_split_differently(tiny_runs, tmp_path, capsys):
    from weldfusion.tools.compare import cli
    from weldfusion.tools.training.checkpoint import load_checkpoint, save_checkpoint

    runs, data, _ = tiny_runs
    ck = load_checkpoint(runs["transformer"] / "best.pt")
    ck["config"]["data"]["split"]["seed"] = 5  # as if trained on another split
    other = save_checkpoint({k: v for k, v in ck.items() if k not in ("format", "format_version")},
                            tmp_path / "other.pt")
    out = tmp_path / "cmp"
    assert cli([str(runs["fusion"]), str(other), "--data", str(data), "--out", str(out), "--quiet"]) == 2
    assert "data.split differs" in capsys.readouterr().err
    assert cli([str(runs["fusion"]), str(tmp_path / "missing"), "--data", str(data), "--out", str(out)]) == 2
    assert not out.exists()


@pytest.mark.slow
def test_baseline_svm_tool_writes_metrics(tiny_runs, tmp_path, capsys):
    from weldfusion.tools.baseline_svm import cli

    _, _, root = tiny_runs
    out = tmp_path / "svm"
    assert cli([str(root / "fusion.yaml"), "--out", str(out), "--C", "3", "--quiet"]) == 0
    assert "phase accuracy" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert 0 <= m["phase"]["macro_f1"] <= 1 and m["latency"]["ms_per_window"] > 0
    assert m["svm"]["n_features"] > 100 and m["split"] == "test"
    assert (out / "report.md").is_file()
    assert cli([str(root / "fusion.yaml"), "--out", str(tmp_path / "bad"), "--gamma", "wide"]) == 2
    assert "--gamma" in capsys.readouterr().err and not (tmp_path / "bad").exists()
