"""Splits by recording (no leakage), filters, split lists; normalisation stats from the training split."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from _window_recordings import tiny_config, write_tiny
from weldfusion.datasets.config import DataConfig, FilterConfig, SplitConfig
from weldfusion.datasets.normalize import NormStats, compute_norm_stats
from weldfusion.datasets.splits import (
    build_splits,
    check_disjoint,
    filter_recordings,
    read_split_list,
    resolve_files,
    save_splits,
    scan,
    split_recordings,
)
from weldfusion.datasets.windows import WindowDataset, build_datasets

PAIRS = ("Al-steel", "Ti-Ni", "Cu-SS")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """12 recordings: 4 per pair, GMAW and TIG; electrical level differs per recording."""
    d = tmp_path_factory.mktemp("corpus")
    for i in range(12):
        pair = PAIRS[i % 3]
        process = "GMAW" if i < 6 else "TIG"
        write_tiny(d / f"run{i:02d}.h5", f"run{i:02d}", pair=pair, process=process, seed=i, level=1.0 + i / 10)
    return d


def test_split_never_shares_a_recording_and_is_stratified(corpus):
    entries = scan(resolve_files(corpus))
    splits = split_recordings(entries, (0.5, 0.25, 0.25), seed=1)
    ids = {name: {e.recording_id for e in es} for name, es in splits.items()}
    assert sum(len(v) for v in ids.values()) == 12
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    assert [len(ids[n]) for n in ("train", "val", "test")] == [6, 3, 3]
    for name in ("train", "val", "test"):  # every pair in every split
        assert {e.material_pair for e in splits[name]} == set(PAIRS)
    assert split_recordings(entries, (0.5, 0.25, 0.25), seed=1) == splits  # deterministic per seed
    assert split_recordings(entries, (0.5, 0.25, 0.25), seed=2) != splits


def test_files_of_one_recording_stay_together(corpus, tmp_path):
    shutil.copy(corpus / "run00.h5", tmp_path / "run00_copy.h5")  # same recording_id twice
    entries = scan([*resolve_files(corpus), tmp_path / "run00_copy.h5"])
    splits = split_recordings(entries, (0.5, 0.25, 0.25), seed=0)
    check_disjoint(splits)
    owners = [n for n, es in splits.items() if any(e.recording_id == "run00" for e in es)]
    assert len(owners) == 1 and sum(e.recording_id == "run00" for e in splits[owners[0]]) == 2
    bad = {"train": splits[owners[0]], "val": splits[owners[0]][:1]}
    with pytest.raises(ValueError, match="run00"):
        check_disjoint(bad)


def test_filters_by_pair_and_process(corpus):
    entries = scan(resolve_files(corpus))
    kept = filter_recordings(entries, pairs=["Ti-Ni"], processes=["TIG"])
    assert {(e.material_pair, e.process) for e in kept} == {("Ti-Ni", "TIG")} and len(kept) == 2
    cfg = DataConfig(filter=FilterConfig(pairs=["Cu-SS"]), split=SplitConfig(0.5, 0.25, 0.25, 0))
    splits = build_splits(cfg, corpus)
    assert sum(len(v) for v in splits.values()) == 4
    assert all(e.material_pair == "Cu-SS" for v in splits.values() for e in scan(v))
    with pytest.raises(ValueError, match="no recordings left after filter"):
        build_splits(DataConfig(filter=FilterConfig(processes=["FSW"])), corpus)


def test_dir_glob_and_split_list_inputs(corpus, tmp_path):
    by_dir = resolve_files(corpus)
    assert len(by_dir) == 12 and by_dir == sorted(by_dir)
    assert resolve_files(str(corpus / "run0*.h5")) == by_dir[:10]
    cfg = DataConfig(split=SplitConfig(0.5, 0.25, 0.25, 3))
    splits = build_splits(cfg, corpus)
    written = save_splits({k: v for k, v in splits.items()}, tmp_path)
    assert sorted(p.name for p in written.values()) == ["test.txt", "train.txt", "val.txt"]
    for name, files in splits.items():
        assert [p.resolve() for p in resolve_files(written[name])] == [p.resolve() for p in files]
    assert read_split_list(written["val"]) == resolve_files(tmp_path / "val.txt")
    (tmp_path / "broken.txt").write_text("# comment\nmissing_run.h5\n")
    with pytest.raises(FileNotFoundError, match=r"broken.txt:2: listed recording missing_run.h5"):
        resolve_files(tmp_path / "broken.txt")
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        resolve_files(tmp_path / "no_such_dir")


def test_norm_stats_come_from_the_training_split_only(corpus, tmp_path):
    cfg = tiny_config(split=SplitConfig(0.5, 0.25, 0.25, 0))
    splits = build_splits(cfg, corpus)
    datasets, norm = build_datasets(cfg, splits, progress=False)
    train_ids = sorted(e.recording_id for e in scan(splits["train"]))
    assert norm.recordings == train_ids
    assert not set(norm.recordings) & {e.recording_id for e in scan(splits["val"] + splits["test"])}
    # stats equal a direct computation over the raw training windows (current channel, thermal pixels)
    raw_train = WindowDataset(splits["train"], cfg)
    cur, pix = [], []
    for i in range(len(raw_train)):
        w = raw_train.raw_window(i)
        cur.append(w.modalities["electrical"].data[0])
        pix.append(w.modalities["thermal"].data.ravel())
    el = norm.modalities["electrical"]
    assert el.mean[0] == pytest.approx(np.concatenate(cur).mean(), rel=1e-6)
    assert el.std[0] == pytest.approx(np.concatenate(cur).std(), rel=1e-4)
    assert norm.modalities["thermal"].mean[0] == pytest.approx(np.concatenate(pix).mean(), rel=1e-6)
    assert el.channels[-1] == "short_circuit" and el.std[-1] == 1.0  # constant 0 -> only centred
    # applied on load: training windows are standardised
    train = datasets["train"]
    x = torch.stack([train[i]["electrical"] for i in range(len(train))])  # (N, 7, S)
    assert x[:, 0].mean().item() == pytest.approx(0.0, abs=1e-3)
    assert x[:, 0].std().item() == pytest.approx(1.0, rel=1e-2)
    # the val split uses the same (training) statistics
    assert datasets["val"].norm is norm


def test_norm_stats_json_round_trip_and_errors(corpus, tmp_path):
    ds = WindowDataset(resolve_files(corpus)[:3], tiny_config())
    norm = compute_norm_stats(ds, max_windows=7, progress=False)
    assert norm.n_windows == 7
    path = norm.save(tmp_path / "norm.json")
    back = NormStats.load(path)
    assert back == norm
    ds2 = WindowDataset(resolve_files(corpus)[3:5], tiny_config(), norm=back)
    ds3 = WindowDataset(resolve_files(corpus)[3:5], tiny_config(), norm=norm)
    assert torch.equal(ds2[0]["electrical"], ds3[0]["electrical"])
    data = json.loads(path.read_text())
    data["modalities"]["acoustic"]["channels"] = ["mic", "ae"]
    data["modalities"]["acoustic"]["mean"] = [0.0, 0.0]
    data["modalities"]["acoustic"]["std"] = [1.0, 1.0]
    (tmp_path / "other.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="acoustic"):
        WindowDataset(resolve_files(corpus)[3:5], tiny_config(modalities=_acoustic_ch0()), norm=NormStats.load(
            tmp_path / "other.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        NormStats.load(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        NormStats.load(tmp_path / "missing.json")


def _acoustic_ch0():
    mods = tiny_config().modalities
    mods.acoustic.channels = ["ch0"]
    return mods
