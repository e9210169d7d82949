"""Training library: optimiser/schedule, checkpoints + RNG round trip, resumable sampler, trainer, `train` CLI."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from torch import nn
from weldfusion.tools.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from weldfusion.tools.training.optim import WarmupCosine, build_optimizer, build_scheduler
from weldfusion.tools.training.sampler import ResumableSampler


# -- optimiser and schedule ------------------------------------------------------------------------------
def test_weight_decay_only_on_matrices():
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    opt = build_optimizer(model, lr=1e-3, weight_decay=0.1)
    assert isinstance(opt, torch.optim.AdamW)
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))


def test_warmup_then_cosine():
    f = WarmupCosine(warmup=4, total=20, min_ratio=0.1)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4) == pytest.approx(1.0)
    assert f(12) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the cosine
    assert f(20) == pytest.approx(0.1) and f(50) == pytest.approx(0.1)
    values = [f(s) for s in range(4, 21)]
    assert all(a >= b for a, b in zip(values[:-1], values[1:], strict=True))
    with pytest.raises(ValueError):
        WarmupCosine(warmup=30, total=20)


def test_scheduler_drives_lr_and_round_trips():
    model = nn.Linear(3, 1)
    opt = build_optimizer(model, lr=0.01, weight_decay=0.0)
    sched = build_scheduler(opt, warmup_steps=2, total_steps=10)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:2] == pytest.approx([0.005, 0.01])
    sched2 = build_scheduler(build_optimizer(model, lr=0.01, weight_decay=0.0), 2, 10)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.last_epoch == sched.last_epoch


# -- checkpoints ------------------------------------------------------------------------------------------
def test_rng_states_round_trip_through_weights_only_checkpoint(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    random.random(), np.random.rand(), torch.rand(1)
    path = save_checkpoint({"rng": rng_state(), "step": 7, "w": torch.arange(3.0)}, tmp_path / "last.pt")
    expected = (random.random(), np.random.rand(), torch.rand(2))
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    ck = load_checkpoint(path)  # weights_only=True inside
    set_rng_state(ck["rng"])
    got = (random.random(), np.random.rand(), torch.rand(2))
    assert got[0] == expected[0] and got[1] == expected[1] and torch.equal(got[2], expected[2])
    assert ck["step"] == 7 and torch.equal(ck["w"], torch.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary left behind


def test_load_checkpoint_rejects_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt"):
        load_checkpoint(bad)
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a weldfusion checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_failed_save_keeps_previous_checkpoint(tmp_path):
    path = save_checkpoint({"step": 1}, tmp_path / "last.pt")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        save_checkpoint({"step": 2, "bad": Unpicklable()}, path)
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


# -- sampler ----------------------------------------------------------------------------------------------
def test_sampler_order_depends_on_seed_and_epoch_only_and_skips():
    data = list(range(23))
    s = ResumableSampler(data, seed=5)
    s.set_epoch(3)
    full = list(s)
    again = ResumableSampler(data, seed=5)
    again.set_epoch(3)
    again.skip(8)
    assert len(again) == len(full) - 8 and list(again) == full[8:]
    assert list(again) == full  # skip applies to one iteration only
    s.set_epoch(4)
    assert list(s) != full and sorted(full) == data


def test_sampler_ranks_partition_the_single_process_batches():
    data = list(range(40))
    single = ResumableSampler(data, seed=0)
    single.set_epoch(1)
    order = list(single)
    ranks = []
    for r in range(2):
        s = ResumableSampler(data, num_replicas=2, rank=r, seed=0)
        s.set_epoch(1)
        ranks.append(list(s))
    global_batch, local = 8, 4
    for b in range(len(order) // global_batch):
        joint = ranks[0][b * local:(b + 1) * local] + ranks[1][b * local:(b + 1) * local]
        assert sorted(joint) == sorted(order[b * global_batch:(b + 1) * global_batch])
    assert math.isclose(len(ranks[0]), len(data) / 2)


# -- class weights / resume checks -------------------------------------------------------------------------
def test_class_weights_from_training_labels():
    from weldfusion.tools.training.data import class_weights

    phase = np.array([0] * 80 + [1] * 20 + [-100] * 5)
    defects = np.zeros((105, 2))
    defects[:5, 0] = 1
    pw, dw = class_weights(phase, defects, 3, "inverse", max_weight=10.0)
    assert pw[1] / pw[0] == pytest.approx(4.0, rel=1e-3) and pw[2] == 1.0  # class 2 never seen
    assert 0.8 * pw[0] + 0.2 * pw[1] == pytest.approx(1.0, abs=1e-3)  # frequency-weighted mean 1
    assert dw == [10.0, 1.0]  # 100 negatives / 5 positives = 20, clipped; no positives -> 1
    pw2, dw2 = class_weights(phase, defects, 3, "sqrt_inverse", max_weight=10.0)
    assert pw2[1] / pw2[0] == pytest.approx(2.0, rel=1e-3) and dw2[0] == pytest.approx(20 ** 0.5, rel=1e-3)
    assert class_weights(phase, defects, 3, "none", 10.0) == (None, None)


def test_resume_refuses_a_different_recipe(tmp_path):
    from weldfusion.recipes.tree import load_recipe
    from weldfusion.tools.training.run import check_resume_recipe

    a = load_recipe("fusion_all")
    check_resume_recipe(load_recipe("fusion_all", ["train.device=cpu"]), a, tmp_path / "config.yaml")
    with pytest.raises(ValueError, match=r"train\.lr"):
        check_resume_recipe(load_recipe("fusion_all", ["train.lr=0.1"]), a, tmp_path / "config.yaml")


# -- the `train` command -----------------------------------------------------------------------------------
def _run_cli(argv, capsys):
    from weldfusion.tools.train import cli

    code = cli(argv)
    return code, capsys.readouterr().err.strip()


def test_unknown_recipe_key_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntrain:\n  epochz: 3\n")
    code, err = _run_cli([str(bad), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "'train.epochz'" in err and "bad.yaml" in err  # recipes/config.py names keys as 'section.key'
    code, err = _run_cli(["fusion_all", "--out", str(tmp_path / "run"), "--set", "model.dimm=3"], capsys)
    assert code == 2 and "'model.dimm'" in err
    assert not (tmp_path / "run").exists()


def test_existing_checkpoint_without_resume_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"x")
    code, err = _run_cli(["fusion_all", "--out", str(run)], capsys)
    assert code == 2 and "--resume" in err and str(run) in err
    code, err = _run_cli(["fusion_all", "--out", str(tmp_path / "fresh"), "--resume"], capsys)
    assert code == 2 and "nothing to resume" in err


# -- end to end on tiny recordings --------------------------------------------------------------------------
def _rows(path):
    import json

    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        r.pop("time_s")
    return rows


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from _training_data import make_recordings, write_recipe

    root = tmp_path_factory.mktemp("tiny")
    data = make_recordings(root / "data")
    return write_recipe(root / "tiny.yaml", data, train={"epochs": 2, "rate_jitter": {"prob": 0.5}})  # resume exact with it


@pytest.mark.slow
def test_train_writes_run_and_resumes_a_killed_run_exactly(tiny, tmp_path, capsys):
    import os
    import subprocess
    import sys

    from weldfusion.tools.training.trainer import KILL_ENV, KILL_EXIT_CODE

    full = tmp_path / "full"
    code, err = _run_cli([str(tiny), "--out", str(full), "--quiet"], capsys)
    assert code == 0, err
    names = {p.name for p in full.iterdir()}
    assert {"best.pt", "last.pt", "config.yaml", "norm_stats.json", "metrics.jsonl", "curves.png", "splits"} <= names
    rows = _rows(full / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2] and rows[-1]["step"] == 12  # 2 epochs x 6 steps of 8 windows
    assert rows[1]["lr"] < rows[0]["lr"]  # cosine decay after the warm-up
    last = load_checkpoint(full / "last.pt")
    best = load_checkpoint(full / "best.pt")
    assert last["epoch"] == 2 and last["step_in_epoch"] == 0 and best["metrics"]["epoch"] == rows[-1]["best_epoch"]
    assert len(best["thresholds"]) == 6 and best["config"]["loss"]["phase_class_weights"] is not None
    assert "phase_class_weights" in (full / "config.yaml").read_text()
    assert (full / "curves.png").read_bytes()[:4] == b"\x89PNG"

    # same run, killed after optimiser step 9 (checkpoints every 2 steps -> last.pt is mid-epoch 2, step 8)
    killed = tmp_path / "killed"
    env = {**os.environ, KILL_ENV: "9"}
    proc = subprocess.run([sys.executable, "-m", "weldfusion.tools.train", str(tiny), "--out", str(killed), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == KILL_EXIT_CODE, proc.stderr[-2000:]
    ck = load_checkpoint(killed / "last.pt")
    assert (ck["epoch"], ck["step_in_epoch"], ck["global_step"]) == (1, 2, 8)
    assert len(_rows(killed / "metrics.jsonl")) == 1
    code, err = _run_cli([str(tiny), "--out", str(killed), "--resume", "--quiet"], capsys)
    assert code == 0, err
    assert _rows(killed / "metrics.jsonl") == rows  # identical metrics, epoch by epoch
    resumed = load_checkpoint(killed / "last.pt")["model"]
    for key, value in last["model"].items():
        assert torch.equal(value, resumed[key]), key
