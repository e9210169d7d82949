"""Localisation targets of the windows: the boxes and motion masks of the frames an image window shows."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
from _sim_recordings import tiny_sim_recordings
from _window_recordings import tiny_config
from weldfusion.datasets.localisation_truth import NO_BOX, LocalisationTruth
from weldfusion.datasets.resample import window_grid
from weldfusion.datasets.windows import WindowDataset
from weldfusion.recipes.errors import InvalidInput


def test_boxes_of_a_frame_in_unit_coordinates_and_padding():
    boxes = np.array([[2, 1, 4, 8, 12, 16], [0, 0, 0, 0, 16, 8], [2, 3, 10, 10, 11, 11]], dtype=np.float32)
    truth = LocalisationTruth(boxes, (16, 32), n_frames=4)
    out = truth.window_boxes(np.array([2, 1, 0]), max_boxes=3)
    assert out.shape == (3, 3, 5)
    np.testing.assert_allclose(out[0, 0], [1, 8 / 32, 12 / 16, 8 / 32, 8 / 16])  # [class, cx, cy, w, h]
    np.testing.assert_allclose(out[0, 1], [3, 10.5 / 32, 10.5 / 16, 1 / 32, 1 / 16])
    assert out[0, 2, 0] == NO_BOX and (out[1, :, 0] == NO_BOX).all()  # frame 1 has no boxes
    np.testing.assert_allclose(out[2, 0], [0, 8 / 32, 4 / 16, 16 / 32, 8 / 16])


def test_a_crowded_frame_keeps_its_largest_boxes_and_counts_the_rest():
    sizes = np.arange(1, 8, dtype=np.float32)  # seven square boxes of 1..7 px
    boxes = np.stack([np.zeros(7), np.full(7, 3), np.zeros(7), np.zeros(7), sizes, sizes], 1).astype(np.float32)
    truth = LocalisationTruth(boxes, (8, 8), n_frames=1)
    out = truth.window_boxes(np.array([0]), max_boxes=4)
    np.testing.assert_allclose(sorted(out[0, :, 3] * 8), [4, 5, 6, 7])
    assert truth.dropped == 3


def test_motion_unpacked_and_resized_to_the_window_frame():
    bits = np.zeros((2, 4, 16), dtype=np.uint8)
    bits[1, :2, :8] = 1  # frame 1: the top-left quarter moved
    packed = np.packbits(bits, axis=-1)
    truth = LocalisationTruth(np.zeros((0, 6), np.float32), (4, 16), n_frames=2, motion=packed)
    out = truth.window_motion(np.array([1, 0]), (2, 8))
    assert out.shape == (2, 2, 8) and out.dtype == np.uint8
    assert out[0, 0, :4].all() and not out[0, 0, 4:].any() and not out[0, 1].any() and not out[1].any()


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    return tiny_sim_recordings(tmp_path_factory.mktemp("loc"), per_pair={"Al-steel": 1})


def test_window_targets_are_the_truth_of_the_frames_the_window_shows(sims):
    """Each window frame's targets are the stored boxes of the frame that frame shows (nearest to its time)."""
    path = next(sims.glob("*.h5"))
    cfg = dataclasses.replace(tiny_config(), localisation=("video",), max_boxes=32)
    ds = WindowDataset(path, cfg)
    with h5py.File(path) as h:
        truth = h["truth/video_boxes"][()]
        rate, (n, fh, fw) = float(h["streams/video"].attrs["rate"]), h["streams/video/data"].shape[:3]
        motion = np.unpackbits(h["truth/video_motion"][()], axis=-1, count=fw)
    t_frames, wh, ww = ds.info.modality("video").shape
    checked = 0
    for i in range(0, len(ds), 3):
        item = ds[i]
        assert item["video_boxes"].shape == (t_frames, 32, 5) and bool(item["video_has_boxes"])
        assert item["video_motion"].shape == (t_frames, wh, ww) and bool(item["video_has_motion"])
        grid = window_grid(float(item["t0"]), ds.window_s, t_frames)
        for t, time_s in enumerate(grid):
            frame = int(np.clip(np.floor(time_s * rate + 0.5), 0, n - 1))
            want = truth[truth[:, 0] == frame]
            got = item["video_boxes"][t].numpy()
            got = got[got[:, 0] >= 0]
            assert len(got) == len(want)
            x0 = (got[:, 1] - got[:, 3] / 2) * fw
            np.testing.assert_allclose(sorted(x0), sorted(want[:, 2]), atol=1e-4)
            assert sorted(got[:, 0].astype(int).tolist()) == sorted(want[:, 1].astype(int).tolist())
            if (wh, ww) == (fh, fw):
                np.testing.assert_array_equal(item["video_motion"][t].numpy(), motion[frame])
            checked += len(want)
    assert checked > 0


def test_a_recording_without_truth_gives_empty_flagged_targets(tmp_path):
    from _training_data import write_recording

    path = write_recording(tmp_path / "plain.h5", "plain", "Al-steel", "GMAW", seed=0)
    with h5py.File(path, "a") as h:
        if "truth" in h:
            for key in [k for k in h["truth"] if k.startswith("video_")]:
                del h["truth"][key]
    ds = WindowDataset(path, dataclasses.replace(tiny_config(), localisation=("video",)))
    item = ds[0]
    assert not bool(item["video_has_boxes"]) and not bool(item["video_has_motion"])
    assert (item["video_boxes"][..., 0] == NO_BOX).all() and not item["video_motion"].any()


def test_localisation_of_a_signal_modality_is_refused(sims):
    with pytest.raises(InvalidInput, match="data.localisation: 'acoustic' is not an image modality"):
        WindowDataset(next(sims.glob("*.h5")), dataclasses.replace(tiny_config(), localisation=("acoustic",)))
