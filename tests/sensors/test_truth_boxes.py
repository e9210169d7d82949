"""Ground-truth boxes of the simulated camera (issue 15): they sit on what the frames show, defect
boxes only where the weld has that defect, and the format's validator refuses broken ones."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
from weldfusion.datasets.validate import structural_problems
from weldfusion.sensors.boxes import CLASSES, BoxList, glow_radius


@pytest.fixture(scope="module")
def run():
    """A copper-stainless GMAW weld with burn-through, porosity and undercut (and spatter)."""
    r = simulate_run("Cu-SS", None, 0, 0, SimConfig())
    labels = {d.label for d in r.defects}
    assert {"burn_through", "porosity", "undercut"} <= labels and "video" in r.streams
    return r


def _boxes(run, cls):
    b = run.truth["video_boxes"]
    return b[b[:, 1] == CLASSES.index(cls)]


def test_boxes_are_in_the_frame_ordered_and_of_known_classes(run):
    b = run.truth["video_boxes"]
    frames = run.streams["video"].data
    n, h, w = frames.shape
    assert b.dtype == np.float32 and b.shape[1] == 6 and len(b) > 1000
    assert np.all(np.diff(b[:, 0]) >= 0) and np.all((b[:, 0] >= 0) & (b[:, 0] < n))
    assert set(np.unique(b[:, 1]).astype(int)) <= set(range(len(CLASSES)))
    assert np.all((b[:, 2] >= 0) & (b[:, 3] >= 0) & (b[:, 4] <= w) & (b[:, 5] <= h))
    assert np.all((b[:, 4] - b[:, 2] >= 1) & (b[:, 5] - b[:, 3] >= 1))


def test_arc_boxes_sit_on_the_arc_core(run):
    frames = run.streams["video"].data.astype(np.float64)
    arc = _boxes(run, "arc")
    xy = run.truth["video_arc_xy"]
    assert len(arc) > 0.5 * len(frames)  # the arc burns in most frames
    f = arc[:, 0].astype(int)
    cx, cy = 0.5 * (arc[:, 2] + arc[:, 4]), 0.5 * (arc[:, 3] + arc[:, 5])
    inside = (arc[:, 2] > 0) & (arc[:, 4] < frames.shape[2]) & (arc[:, 3] > 0) & (arc[:, 5] < frames.shape[1])
    np.testing.assert_allclose(cx[inside], xy[f[inside], 0], atol=1e-3)  # centred on the truth arc position
    np.testing.assert_allclose(cy[inside], xy[f[inside], 1], atol=1e-3)
    contrast = []
    for row in arc[::25]:
        k, x0, y0, x1, y1 = int(row[0]), *np.round(row[2:]).astype(int)
        img = frames[k]
        mask = np.zeros(img.shape, bool)
        mask[y0:y1, x0:x1] = True
        contrast.append(img[mask].mean() - img[~mask].mean())
    assert np.median(contrast) > 60  # the brightest thing in the frame is in the box


def test_defect_boxes_only_where_the_weld_has_the_defect(run):
    rate = run.streams["video"].rate
    spans = {c: [(d.start_s, d.end_s) for d in run.defects if d.label == c] for c in ("burn_through", "porosity", "undercut")}
    burn = _boxes(run, "burn_through")
    t = burn[:, 0] / rate
    assert len(burn) > 10 and all(any(a <= ti <= b for a, b in spans["burn_through"]) for ti in t)
    for cls, label in (("pore", "porosity"), ("undercut", "undercut")):  # they stay in the seam once formed
        got = _boxes(run, cls)
        assert len(got) > 10 and got[:, 0].min() / rate >= min(a for a, _ in spans[label])
    pool = _boxes(run, "pool")
    for row in burn[::10]:  # the hole is inside the pool of its frame
        p = pool[pool[:, 0] == row[0]][0]
        assert p[2] <= row[2] and p[3] <= row[3] and row[4] <= p[4] and row[5] <= p[5]


def test_spatter_boxes_are_bright_streaks(run):
    frames = run.streams["video"].data.astype(np.float64)
    sp = _boxes(run, "spatter")
    assert len(sp) > 20
    glow = {int(r[0]): r for r in _boxes(run, "arc")}
    lifts = []
    for row in sp:
        k, x0, y0, x1, y1 = int(row[0]), *np.round(row[2:]).astype(int)
        a = glow.get(k)
        if a is not None and not (x1 < a[2] - 4 or x0 > a[4] + 4 or y1 < a[3] - 4 or y0 > a[5] + 4):
            continue  # next to the arc core: no contrast to measure
        lifts.append(frames[k, y0:y1, x0:x1].max() - np.median(frames[k]))
    assert len(lifts) > 10 and np.median(lifts) > 25


def test_box_list_clips_and_drops_what_is_not_in_the_frame():
    bl = BoxList((10, 20))
    bl.add("pool", [3, 1, 2], [-5, 2, 30], [2, 2, 0], [5, 2.5, 40], [12, 8, 5])
    out = bl.array()
    assert out.tolist() == [[3, 1, 0, 2, 5, 10]]  # the first clipped, the 0.5 px one and the outside one dropped
    assert glow_radius(np.array([10.0, 30.0 * np.e ** 2]), 2.0).tolist() == [0.0, pytest.approx(4.0)]


def test_validator_refuses_broken_boxes(run, tmp_path):
    path = write_run(run, tmp_path / "r.h5")
    with h5py.File(path, "r") as h5:
        assert structural_problems(h5) == []
        assert list(h5["truth"].attrs["box_classes"]) == list(CLASSES)
    w = run.streams["video"].data.shape[2]
    for edit, needle in ((lambda b: b.__setitem__((0, 4), w + 5), "outside the"),
                         (lambda b: b.__setitem__((0, 1), len(CLASSES)), "class index"),
                         (lambda b: b.__setitem__((0, 0), 1e9), "frame index")):
        with h5py.File(path, "r+") as h5:
            good = h5["truth/video_boxes"][()]
            bad = good.copy()
            edit(bad)
            h5["truth/video_boxes"][...] = bad
            problems = structural_problems(h5)
            h5["truth/video_boxes"][...] = good
        assert len(problems) == 1 and needle in problems[0] and "row 0" in problems[0], problems
    with h5py.File(path, "r+") as h5:
        del h5["truth"].attrs["box_classes"]
        assert "box_classes" in structural_problems(h5)[0]


def test_raw_export_coco_opens_in_pycocotools(run, tmp_path):
    import cv2
    from pycocotools.coco import COCO
    from weldfusion.datasets.raw_export import export_raw

    path = write_run(run, tmp_path / "r.h5")
    export_raw(path, tmp_path / "raw", coco=True, progress=False)
    coco = COCO(str(tmp_path / "raw" / "video_boxes.coco.json"))
    truth = run.truth["video_boxes"]
    frames = run.streams["video"].data
    assert len(coco.getImgIds()) == len(frames) and len(coco.getAnnIds()) == len(truth)
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    k = int(truth[len(truth) // 2, 0])  # one frame: its boxes, its image
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[k + 1]))
    mine = truth[truth[:, 0] == k]
    got = sorted((a["category_id"] - 1, *a["bbox"]) for a in anns)
    want = sorted((int(b[1]), b[2], b[3], b[4] - b[2], b[5] - b[3]) for b in mine)
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float), atol=1e-4)
    img = coco.loadImgs([k + 1])[0]
    png = cv2.imread(str(tmp_path / "raw" / img["file_name"]), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(png, frames[k])  # lossless: the frame the boxes were drawn on
    offset = run.streams["video"].clock_offset_s
    assert img["time_s"] == pytest.approx(k / run.streams["video"].rate - offset)
    ir = COCO(str(tmp_path / "raw" / "thermal_boxes.coco.json"))  # on the exported 16-bit IR frames
    assert len(ir.getAnnIds()) == len(run.truth["thermal_boxes"]) and len(ir.getImgIds()) == len(run.streams["thermal"].data)
    first = ir.loadImgs([1])[0]
    tiff = cv2.imread(str(tmp_path / "raw" / first["file_name"]), cv2.IMREAD_UNCHANGED)
    assert tiff.dtype == np.uint16 and tiff.shape == (first["height"], first["width"])


def test_raw_export_coco_without_boxes_is_one_line(tmp_path, capsys):
    from _training_data import write_recording
    from weldfusion.tools import raw_export

    rec = write_recording(tmp_path / "plain.h5", "plain", "Al-steel", "GMAW", seed=0)
    assert raw_export.cli([str(rec), str(tmp_path / "out"), "--coco"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no ground-truth boxes" in err and len(err.splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def laser_run():
    """A titanium-nickel laser weld with burn-through and a crack."""
    r = simulate_run("Ti-Ni", None, 0, 0, SimConfig())
    assert {"burn_through", "crack"} <= {d.label for d in r.defects} and "thermal" in r.streams
    return r


def test_ir_boxes_pool_on_the_source_and_line_defects_where_they_formed(laser_run):
    b = laser_run.truth["thermal_boxes"]
    frames = laser_run.streams["thermal"].data
    rate = laser_run.streams["thermal"].rate
    n, h, w = frames.shape
    assert set(np.unique(b[:, 1]).astype(int)) <= {CLASSES.index(c) for c in ("pool", "burn_through", "undercut", "crack")}
    assert np.all((b[:, 2] >= 0) & (b[:, 4] <= w) & (b[:, 3] >= 0) & (b[:, 5] <= h) & (b[:, 0] < n))
    pool = b[b[:, 1] == CLASSES.index("pool")]
    src = laser_run.truth["thermal_source_xy"]
    f = pool[:, 0].astype(int)
    # the source sits between pixel rows (the joint): within a pixel of the box
    on = ((pool[:, 2] - 1 <= src[f, 0]) & (src[f, 0] <= pool[:, 4] + 1)
          & (pool[:, 3] - 1 <= src[f, 1]) & (src[f, 1] <= pool[:, 5] + 1))
    assert len(pool) > 0.5 * n and on.mean() > 0.95  # the molten region sits on the heat source
    hottest = np.array([frames[k, int(p[3]):int(p[5]), int(p[2]):int(p[4])].max() >= frames[k].max() - 1e-3
                        for k, p in zip(f[::20], pool[::20], strict=True)])
    assert hottest.mean() > 0.9  # and holds the hottest pixel of its frame
    for cls, tail_s in (("crack", 1.0), ("burn_through", 0.0)):  # a crack line stays visible a while after it stops
        got = b[b[:, 1] == CLASSES.index(cls)]
        spans = [(d.start_s, d.end_s) for d in laser_run.defects if d.label == cls]
        t = got[:, 0] / rate
        assert len(got) > 5 and all(any(a <= ti <= e + tail_s for a, e in spans) for ti in t), cls
    crack = b[b[:, 1] == CLASSES.index("crack")]
    cold = []
    for row in crack[::5]:  # the crack line is colder than the rows beside it, in its columns
        k, x0, y0, x1, y1 = int(row[0]), *row[2:].astype(int)
        if y0 >= 1 and y1 < h:
            cold.append(frames[k, y0:y1, x0:x1].mean() - frames[k, y0 - 1, x0:x1].mean())
    assert np.median(cold) < 0


def _motion(run):
    return np.unpackbits(run.truth["video_motion"], axis=-1, count=run.streams["video"].data.shape[2]).astype(bool)


def test_motion_truth_marks_what_changes_between_frames(run):
    frames = run.streams["video"].data.astype(np.float64)
    moving = _motion(run)
    assert moving.shape == frames.shape and 0.005 < moving.mean() < 0.5
    change = np.abs(np.diff(frames, axis=0))  # (N-1, H, W) what each frame changed since the one before
    m = moving[1:]
    assert change[m].mean() > 2.0 * change[~m].mean()  # marked pixels change, the rest is mostly sensor noise
    sp = _boxes(run, "spatter")
    hit = [moving[int(b[0]), int(b[3]):int(b[5]), int(b[2]):int(b[4])].any() for b in sp]
    assert np.mean(hit) == 1.0  # every particle in flight is moving
    shown = set(run.truth["video_boxes"][:, 0].astype(int).tolist())  # frames where anything is visible
    idle = [k for k in range(len(frames)) if k not in shown]
    assert len(idle) > 10 and not moving[idle].any()  # nothing there: nothing moves (before ignition)


def test_validator_checks_the_motion_truth(run, tmp_path):
    path = write_run(run, tmp_path / "m.h5")
    with h5py.File(path, "r+") as h5:
        assert structural_problems(h5) == []
        good = h5["truth/video_motion"][()]
        del h5["truth/video_motion"]
        h5["truth"].create_dataset("video_motion", data=good[:-1])
        problems = structural_problems(h5)
    assert len(problems) == 1 and "/truth/video_motion: must be" in problems[0]
