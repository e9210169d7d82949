"""WindowDataset: masks for every missing-modality subset, gaps, labels, batch contract, workers, errors."""

from __future__ import annotations

import dataclasses
import itertools

import h5py
import numpy as np
import pytest
import torch
from _window_recordings import ALL, RATES, tiny_config, write_tiny
from torch.utils.data import DataLoader, default_collate
from weldfusion.datasets import RecordingMeta, RecordingWriter
from weldfusion.datasets.config import (
    DataConfig,
    FilterConfig,
    WindowModalities,
)
from weldfusion.datasets.info import DataInfo
from weldfusion.datasets.windows import (
    IGNORE_PHASE,
    WindowDataset,
    defect_labels,
    phase_labels,
    window_starts,
)
from weldfusion.recipes.taxonomy import LabelInterval
from weldfusion.sensors.acoustic.window import AcousticWindow
from weldfusion.sensors.video.window import VideoWindow

SUBSETS = [s for k in range(len(ALL) + 1) for s in itertools.combinations(ALL, k)]


@pytest.fixture(scope="module")
def subset_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("subsets")
    for i, subset in enumerate(SUBSETS):
        write_tiny(d / f"s{i:02d}.h5", f"s{i:02d}", streams=subset, seed=i)
    return d


def test_every_subset_of_missing_modalities_gives_masks_and_zeros(subset_dir):
    assert len(SUBSETS) == 16  # 15 non-empty subsets + the empty one
    ds = WindowDataset(subset_dir, tiny_config(modalities=dataclasses.replace(
        tiny_config().modalities, acoustic=AcousticWindow(length=40, channels=["ch0"]))))
    assert ds.modality_names == ALL
    for i, subset in enumerate(SUBSETS):
        idx = ds.windows_of(f"s{i:02d}")
        assert len(idx) == 5  # 1.2 s: windows at 0, 0.2, ..., 0.8
        for j in idx:
            item = ds[j]
            want = [m in subset for m in ALL]
            assert item["present"].tolist() == want, (subset, j)
            for m in ALL:
                shape = ds.info.modality(m).shape
                assert tuple(item[m].shape) == shape
                if m in subset:
                    assert item[m].abs().sum() > 0
                else:
                    assert torch.count_nonzero(item[m]) == 0
            if "electrical" not in subset:
                assert torch.count_nonzero(item["params"]) == 0


def test_gap_inside_window_is_masked_and_small_gap_zeroed(tmp_path):
    # thermal gap [0.5, 0.75); electrical short gap [1.0, 1.05) (12.5 % of a window < 20 % threshold)
    path = write_tiny(tmp_path / "g.h5", duration=1.6, gaps={"thermal": [[0.5, 0.75]], "electrical": [[1.0, 1.05]]})
    ds = WindowDataset(path, tiny_config())
    th = ds.modality_names.index("thermal")
    el = ds.modality_names.index("electrical")
    t0 = [t for _, t in ds.window_index]
    assert t0 == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    # gap share per window: 0, 0.25, 0.625, 0.375, 0, 0, 0 -> thermal absent where > 0.2
    assert [bool(ds[i]["present"][th]) for i in range(len(ds))] == [True, False, False, False, True, True, True]
    assert all(bool(ds[i]["present"][el]) for i in range(len(ds)))
    i = t0.index(pytest.approx(0.8))
    x = ds[i]["electrical"]  # 20 samples at 50 Hz from 0.8: t = 1.0, 1.02, 1.04 fall in the gap
    gap_cols = [k for k in range(20) if 1.0 <= 0.8 + k * 0.02 < 1.05]
    assert gap_cols == [10, 11, 12]
    assert torch.count_nonzero(x[:, gap_cols]) == 0
    assert torch.count_nonzero(x[:6, [9, 13]]) == 2 * 6  # short_circuit (row 6) is 0 anyway


def test_disabled_modality_is_absent_with_configured_shape(tmp_path):
    path = write_tiny(tmp_path / "a.h5")
    mods = dataclasses.replace(tiny_config().modalities, video=VideoWindow(length=4, size=(6, 8), enabled=False))
    ds = WindowDataset(path, tiny_config(modalities=mods))
    item = ds[0]
    assert item["present"].tolist() == [False, True, True, True]
    assert item["video"].shape == (4, 6, 8) and torch.count_nonzero(item["video"]) == 0


def test_labels_majority_phase_and_defect_overlap_threshold(tmp_path):
    phases = [(0.0, 0.5, "idle"), (0.5, 0.62, "arc_start"), (0.62, 2.0, "deposition")]
    defects = [(1.0, 1.1, "porosity"), (0.3, 0.45, "lack_of_fusion"), (1.5, 1.58, "spatter"), (1.59, 2.0, "crack")]
    path = write_tiny(tmp_path / "l.h5", duration=2.0, phases=phases, defects=defects)
    ds = WindowDataset(path, tiny_config())
    names = ds.info.phases
    got = {round(t, 3): ds[i] for i, (_, t) in enumerate(ds.window_index)}
    # [0.4, 0.8): idle 0.1, arc_start 0.12, deposition 0.18 -> deposition; [0.2, 0.6): idle 0.3 -> idle
    assert names[int(got[0.4]["phase"])] == "deposition"
    assert names[int(got[0.2]["phase"])] == "idle"
    d = list(ds.info.defects)

    def has(t, label):
        return bool(got[t]["defects"][d.index(label)])

    # porosity [1.0, 1.1) (short): fully inside [0.8,1.2) and [1.0,1.4) -> positive; not in [0.6, 1.0)
    assert has(0.8, "porosity") and has(1.0, "porosity") and not has(0.6, "porosity")
    # lack_of_fusion [0.3, 0.45): [0.0,0.4) overlaps 0.1/0.15 = 67 % -> pos; [0.4,0.8) 0.05/0.15 = 33 % -> pos
    assert has(0.0, "lack_of_fusion") and has(0.4, "lack_of_fusion") and not has(0.6, "lack_of_fusion")
    # crack [1.59, 2.0): [1.2,1.6) overlaps 0.01 s = 2.5 % of the window -> negative; [1.4,1.8) 0.21/0.4 -> positive
    assert not has(1.2, "crack") and has(1.4, "crack") and has(1.6, "crack")
    assert has(1.2, "spatter") and has(1.4, "spatter")
    assert got[0.0]["defects"].dtype == torch.float32


def test_label_functions_directly():
    t0 = np.array([0.0, 0.4, 5.0])
    ph = [LabelInterval(0.0, 0.2, "idle"), LabelInterval(0.2, 0.4, "deposition"), LabelInterval(0.4, 0.9, "weaving")]
    names = ("idle", "arc_start", "deposition", "weaving", "parameter_change", "arc_end")
    assert phase_labels(ph, t0, 0.4, names).tolist() == [0, 3, IGNORE_PHASE]  # tie -> taxonomy order; none -> ignore
    de = [LabelInterval(0.0, 0.05, "crack"), LabelInterval(0.05, 0.1, "crack")]  # merged: [0, 0.1)
    out = defect_labels(de, np.array([0.0, -0.37, -0.38]), 0.4, ("crack",), 0.3)
    assert out[:, 0].tolist() == [1.0, 1.0, 0.0]  # overlaps 0.1, 0.03 (30 %) and 0.02 (20 %) of the 0.1 s crack
    assert window_starts((0.0, 1.0), 0.4, 0.2).tolist() == [0.0, 0.2, 0.4, 0.6]
    assert len(window_starts((0.0, 0.3), 0.4, 0.2)) == 0


def test_batch_contract_info_and_default_collate(tmp_path):
    write_tiny(tmp_path / "a.h5", "a", pair="Cu-SS", process="laser")
    ds = WindowDataset(tmp_path / "a.h5", tiny_config())
    info = ds.info
    assert isinstance(info, DataInfo) and info.names == ALL
    assert info.modality("electrical").channel_names == (
        "current", "voltage", "wire_feed", "travel_speed", "power", "heat_input", "short_circuit")
    assert info.modality("video").shape == (4, 6, 8) and info.modality("electrical").rate == pytest.approx(50.0)
    batch = default_collate([ds[i] for i in range(3)])
    assert set(batch) == {"video", "thermal", "acoustic", "electrical", "present", "params", "pair", "phase",
                          "defects", "t0", "recording_id", "material_pair", "process"}
    assert batch["video"].shape == (3, 4, 6, 8) and batch["video"].dtype == torch.float32
    assert batch["thermal"].shape == (3, 2, 4, 5)
    assert batch["acoustic"].shape == (3, 1, 40) and batch["electrical"].shape == (3, 7, 20)
    assert batch["present"].dtype == torch.bool and batch["present"].shape == (3, 4)
    assert batch["params"].shape == (3, 4) and batch["defects"].shape == (3, 6)
    assert batch["pair"].tolist() == [2, 2, 2] and batch["pair"].dtype == torch.int64
    assert batch["phase"].dtype == torch.int64 and batch["t0"].dtype == torch.float64
    assert batch["t0"].tolist() == pytest.approx([0.0, 0.2, 0.4])
    assert batch["recording_id"] == ["a"] * 3 and batch["process"] == ["laser"] * 3


def test_electrical_derived_channels_and_params(tmp_path):
    n = int(1.2 * RATES["electrical"])
    el = np.tile(np.array([200.0, 20.0, 8.0, 5.0], np.float32), (n, 1))
    el[::2, 1] = 4.0  # every other sample in short circuit (4 V)
    meta = RecordingMeta("e", "Al-steel", "A", "B", "GMAW", "test")
    with RecordingWriter(tmp_path / "e.h5", meta) as w:
        w.write_stream("electrical", el, rate=RATES["electrical"], units="mixed")
    only = WindowModalities(video=None, thermal=None, acoustic=None, electrical=tiny_config().modalities.electrical)
    cfg = tiny_config(modalities=only)
    ds = WindowDataset(tmp_path / "e.h5", cfg)
    assert ds.modality_names == ("electrical",)
    x = ds[1]["electrical"].numpy()  # 20 samples at 50 Hz, each bin holds 10 native samples
    mean_u = (20.0 + 4.0) / 2
    np.testing.assert_allclose(x[0], 200.0, rtol=1e-5)
    np.testing.assert_allclose(x[1], mean_u, rtol=1e-3)  # anti-aliased: the 250 Hz alternation is removed
    np.testing.assert_allclose(x[4], 200.0 * mean_u, rtol=1e-3)  # power W
    np.testing.assert_allclose(x[5], 0.8 * 200.0 * mean_u / 5.0 / 1000.0, rtol=1e-3)  # heat input kJ/mm
    np.testing.assert_allclose(x[6], 0.5, atol=1e-6)  # share in short circuit
    np.testing.assert_allclose(ds[1]["params"].numpy(), [200.0, mean_u, 5.0, 0.8 * 200 * mean_u / 5 / 1000], rtol=1e-3)


def test_colour_video_becomes_grey_and_is_resized(tmp_path):
    n = 60
    frames = np.zeros((n, 12, 16, 3), np.uint8)
    frames[..., 0] = 255  # pure red -> 0.299 * 255
    meta = RecordingMeta("c", "Al-steel", "A", "B", "GMAW", "test")
    with RecordingWriter(tmp_path / "c.h5", meta) as w:
        w.write_stream("video", frames, rate=50.0, units="gray8")
    cfg = DataConfig(modalities=WindowModalities(VideoWindow(length=4, size=(6, 8)), None, None, None))
    x = WindowDataset(tmp_path / "c.h5", cfg)[0]["video"]
    assert x.shape == (4, 6, 8)
    np.testing.assert_allclose(x.numpy(), 76.0, atol=1.0)


def test_no_file_handle_open_after_init_and_workers_give_same_items(tmp_path):
    for i in range(3):
        write_tiny(tmp_path / f"r{i}.h5", f"r{i}", seed=i, streams=ALL[: i + 2])
    ds = WindowDataset(str(tmp_path / "*.h5"), tiny_config())
    open_files = [f.name for f in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)]
    assert not [f for f in open_files if str(tmp_path).encode() in f]  # nothing to inherit by forked workers
    ref = [ds[i] for i in range(len(ds))]
    ds.close()
    got = [item for batch in DataLoader(ds, batch_size=4, num_workers=2) for item in _unbatch(batch)]
    assert len(got) == len(ref)
    for a, b in zip(ref, got):
        for key, value in a.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, b[key]), key
            else:
                assert value == b[key]


def _unbatch(batch: dict) -> list[dict]:
    n = len(batch["recording_id"])
    return [{k: (v[i] if isinstance(v, (torch.Tensor, list)) else v) for k, v in batch.items()} for i in range(n)]


def test_window_index_and_windows_of_one_recording_in_time_order(tmp_path):
    write_tiny(tmp_path / "a.h5", "a", duration=1.6)
    write_tiny(tmp_path / "b.h5", "b", duration=1.0)
    ds = WindowDataset(tmp_path, tiny_config())
    assert ds.window_index[:2] == [("a", 0.0), ("a", 0.2)]
    assert len(ds) == 7 + 4
    idx = ds.windows_of("b")
    assert [ds.window_index[i] for i in idx] == [("b", 0.0), ("b", 0.2), ("b", 0.4), ("b", 0.6)]
    with pytest.raises(KeyError, match="'zz'"):
        ds.windows_of("zz")


def test_preload_gives_the_same_items(tmp_path):
    write_tiny(tmp_path / "a.h5", "a", gaps={"video": [[0.3, 0.35]]})
    hdf = WindowDataset(tmp_path, tiny_config())
    mem = WindowDataset(tmp_path, tiny_config(preload=True))
    for i in range(len(hdf)):
        for m in ALL:
            assert torch.equal(hdf[i][m], mem[i][m])


def test_cache_windows_gives_the_same_items_and_reads_each_window_once(tmp_path, monkeypatch):
    write_tiny(tmp_path / "a.h5", "a", gaps={"video": [[0.3, 0.35]]})
    plain = WindowDataset(tmp_path, tiny_config())
    cached = WindowDataset(tmp_path, tiny_config(cache_windows=True))
    reads = []
    original = WindowDataset.raw_window
    monkeypatch.setattr(WindowDataset, "raw_window", lambda self, i: reads.append(i) or original(self, i))
    for _ in range(2):
        for i in range(len(cached)):
            a, b = plain[i], cached[i]
            assert a.keys() == b.keys()
            for key, value in a.items():
                assert torch.equal(value, b[key]) if isinstance(value, torch.Tensor) else value == b[key], key
    assert len(reads) == 3 * len(plain)  # plain: every window twice; cached: once
    # an item dict changed by a caller does not change the cache
    item = cached[0]
    item["video"] = None
    assert cached[0]["video"] is not None
    # a new normalisation empties the cache
    cached.set_norm(None)
    cached[0]
    assert len(reads) == 3 * len(plain) + 1


def test_bad_input_names_the_file_or_pattern(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here.h5"):
        WindowDataset(tmp_path / "nothing_here.h5", tiny_config())
    with pytest.raises(FileNotFoundError, match=r"glob matched no files"):
        WindowDataset(str(tmp_path / "*.h5"), tiny_config())
    with pytest.raises(FileNotFoundError, match="holds no .h5"):
        WindowDataset(tmp_path, tiny_config())
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(OSError, match="junk.h5"):
        WindowDataset(tmp_path / "junk.h5", tiny_config())
    write_tiny(tmp_path / "x.h5", "x", pair="Ti-Ni")
    with pytest.raises(ValueError, match=r"x.h5: material pair 'Ti-Ni' not in data.pairs"):
        WindowDataset(tmp_path / "x.h5", tiny_config(pairs=["Al-steel"]))
    with pytest.raises(ValueError, match="no recordings left after filter"):
        WindowDataset(tmp_path / "x.h5", tiny_config(filter=FilterConfig(pairs=["Cu-SS"])))
