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
