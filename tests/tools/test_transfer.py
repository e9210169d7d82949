"""Transfer: label-fraction subsets (trainer hook), the transfer recipe and its stages, the `transfer` tool."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from weldfusion.datasets.config import DataConfig
from weldfusion.datasets.windows import WindowDataset
from weldfusion.recipes.config import ConfigError, from_dict
from weldfusion.recipes.training import TrainConfig
from weldfusion.tools.analysis.transfer import (
    load_transfer_recipe,
    run_plan,
    stage_recipe,
)
from weldfusion.tools.training.data import (
    build_data,
    label_fraction_indices,
    labelled_indices,
)


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    from _training_data import TINY_RECIPE, make_recordings

    data = make_recordings(tmp_path_factory.mktemp("frac") / "data", per_pair=4)
    cfg = from_dict(DataConfig, {**TINY_RECIPE["data"], "path": str(data)})
    return WindowDataset(sorted(data.glob("*.h5")), cfg, progress=False), cfg


def _recordings(ds, idx):
    rec = np.array([rid for rid, _ in ds.window_index], dtype=object)
    return set(rec[idx].tolist())


def test_label_fractions_are_nested_deterministic_whole_recordings(windows):
    ds, _ = windows
    labelled = labelled_indices(ds)
    per_rec = {r: set(labelled[np.isin(np.array([x for x, _ in ds.window_index], dtype=object)[labelled], [r])])
               for r in ds.recording_ids}
    prev: set = set()
    for f in (0.05, 0.1, 0.25, 0.5, 1.0):
        idx = label_fraction_indices(ds, f, "recordings", seed=3)
        assert np.array_equal(idx, label_fraction_indices(ds, f, "recordings", seed=3))  # deterministic
        assert set(idx.tolist()) >= prev  # nested
        recs = _recordings(ds, idx)
        assert len(recs) == max(1, int(np.floor(f * 12 + 0.5)))  # of the 12 recordings
        assert set(idx.tolist()) == set().union(*(per_rec[r] for r in recs))  # whole recordings, labelled only
        prev = set(idx.tolist())
    assert np.array_equal(label_fraction_indices(ds, 1.0, "recordings"), labelled)
    assert _recordings(ds, label_fraction_indices(ds, 0.25, "recordings", seed=1)) != \
        _recordings(ds, label_fraction_indices(ds, 0.25, "recordings", seed=3))  # the seed matters


def test_label_fraction_by_windows_and_bad_values(windows):
    ds, _ = windows
    n = len(labelled_indices(ds))
    small, large = (label_fraction_indices(ds, f, "windows", seed=0) for f in (0.1, 0.3))
    assert len(small) == max(1, int(np.floor(0.1 * n + 0.5))) and set(small) <= set(large)
    assert np.all(np.diff(small) > 0)
    with pytest.raises(ValueError, match="fraction"):
        label_fraction_indices(ds, 0.0, "recordings")
    with pytest.raises(ValueError, match="unit"):
        label_fraction_indices(ds, 0.5, "files")
    with pytest.raises(ValueError, match="label_fraction"):
        TrainConfig(label_fraction=1.5)


def test_bundle_with_label_fraction_trains_and_weights_on_the_subset(windows):
    _, cfg = windows
    bundle = build_data(cfg, progress=False)
    cut = bundle.with_label_fraction(0.5, "recordings", seed=0)
    keep = cut.selected["train"]
    assert len(cut.train) == len(keep) < len(bundle.train)
    phase, defects = cut.targets("train")
    assert np.array_equal(phase, bundle.windows["train"].phase_targets[keep]) and len(defects) == len(keep)
    ids = _recordings(bundle.windows["train"], keep)
    assert sorted(p.stem for p in cut.files["train_labelled"]) == sorted(ids)
    assert cut.val is bundle.val and cut.files["test"] == bundle.files["test"]  # other splits untouched
    assert cut.norm is bundle.norm  # statistics still from the whole training split (labels not needed)


# -- transfer recipe -------------------------------------------------------------------------------------------
def test_packaged_transfer_recipe_and_its_stages():
    tr = load_transfer_recipe("transfer_cu-ss")
    assert tr.transfer.source_pairs == ["Al-steel", "Ti-Ni"] and tr.transfer.target_pair == "Cu-SS"
    pre = stage_recipe(tr, "pretrain", "data/sim")
    assert pre.data.filter.pairs == ["Al-steel", "Ti-Ni"] and pre.train.label_fraction == 1.0
    ft = stage_recipe(tr, "finetune", "data/sim", fraction=0.1, init_from="runs/pretrain/best.pt")
    assert ft.data.filter.pairs == ["Cu-SS"] and ft.train.init_from == "runs/pretrain/best.pt"
    assert ft.train.label_fraction == 0.1 and ft.train.lr == 5e-4 and ft.train.freeze_batchnorm
    sc = stage_recipe(tr, "scratch", "data/sim", fraction=0.1)
    assert sc.train.init_from is None and sc.train.label_fraction == 0.1 and sc.train.lr == pre.train.lr
    assert sc.data == ft.data  # the same target windows and split for every target-pair run
    assert run_plan(tr)[-1] == ("scratch", 1.0) and len(run_plan(tr)) == 7
    with pytest.raises(ValueError, match="init_from"):
        stage_recipe(tr, "finetune", "data/sim", fraction=0.1)


@pytest.mark.parametrize(("override", "message"), [
    ("transfer.finetune={train: {lrr: 1}}", "transfer.finetune.*lrr"),
    ("transfer.target_pair=Ti-Ni", "also a source pair"),
    ("transfer.check_fraction=0.5", "check_fraction"),
    ("transfer.source_pairs=[Mg-Al]", "Mg-Al"),
    ("transfer.bogus=1", "bogus"),
])
def test_transfer_recipe_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_transfer_recipe("transfer_cu-ss", [override])


def test_transfer_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    from _training_data import make_recordings
    from weldfusion.tools.transfer import cli

    out = tmp_path / "tr"
    assert cli(["fusion_all", "--data", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "transfer:" in err
    assert cli(["transfer_cu-ss", "--data", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "none" in capsys.readouterr().err
    data = make_recordings(tmp_path / "data", per_pair=1)
    (data / "Cu-SS_0.h5").unlink()
    assert cli(["transfer_cu-ss", "--data", str(data), "--out", str(out)]) == 2
    assert "Cu-SS" in capsys.readouterr().err
    assert cli(["transfer_cu-ss", "--data", str(data), "--out", str(out), "--set", "transfer.finetune.x=1"]) == 2
    assert "transfer.finetune" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_transfer_end_to_end_on_simulated_pairs(tmp_path, capsys):
    from _sim_recordings import tiny_sim_recipe, tiny_sim_recordings
    from weldfusion.tools.transfer import cli

    data = tiny_sim_recordings(tmp_path / "data", {"Al-steel": 2, "Ti-Ni": 2, "Cu-SS": 3})
    base = tiny_sim_recipe(tmp_path / "tiny.yaml", data)
    recipe = tmp_path / "transfer.yaml"
    recipe.write_text(yaml.safe_dump({"base": str(base), "name": "tiny_transfer", "transfer": {
        "label_fractions": [0.5], "check_fraction": 0.5, "finetune": {"train": {"lr": 1e-3}}}}))
    out = tmp_path / "tr"
    assert cli([str(recipe), "--data", str(data), "--out", str(out), "--quiet"]) == 0
    assert "before adaptation" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["runs", "transfer.json", "transfer.md", "transfer_embedding.png",
                                                     "transfer_f1.png"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["finetune_50pct", "pretrain", "scratch_100pct",
                                                                "scratch_50pct"]
    r = json.loads((out / "transfer.json").read_text())
    assert r["target_pair"] == "Cu-SS" and 0 <= r["zero_shot"]["phase.macro_f1"] <= 1
    assert set(r["accuracy_drop"]) >= {"phase.accuracy", "phase.macro_f1"}
    (row,) = r["fractions"]
    assert row["fraction"] == 0.5 and row["n_recordings"] >= 1 and row["n_windows"] > 0
    assert row["gain.phase.macro_f1"] == pytest.approx(row["finetune"]["phase.macro_f1"]
                                                       - row["scratch"]["phase.macro_f1"])
    assert row["finetune"]["n_windows"] == row["scratch"]["n_windows"] == r["target_test_windows"]
    ft_config = yaml.safe_load((out / "runs" / "finetune_50pct" / "config.yaml").read_text())
    assert ft_config["train"]["init_from"].endswith("pretrain/best.pt") and ft_config["train"]["label_fraction"] == 0.5
    assert ft_config["data"]["filter"]["pairs"] == ["Cu-SS"]
    assert (out / "runs" / "finetune_50pct" / "splits" / "train_labelled.txt").is_file()
    assert r["embedding"]["windows"] > 0 and "pretrained" in r["embedding"]["silhouette"]
    assert "| labels | recordings |" in (out / "transfer.md").read_text()
