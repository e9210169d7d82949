"""``weldfusion annotate`` (issue 15): the video and IR side by side with the model's attention,
phase and alarms, one mp4 frame per stored video frame; truth boxes drawn; bad input one line."""

from __future__ import annotations

import cv2
import h5py
import numpy as np
import pytest
from _stream_helpers import tiny_run
from weldfusion.sensors.boxes import CLASSES
from weldfusion.tools import annotate as annotate_verb
from weldfusion.tools.analysis.annotate import HEADER_H, PANEL_H, TRUTH_BGR, upsample_attention

pytestmark = pytest.mark.usefixtures("restore_threads", "single_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_run(tmp_path_factory, "annotate")


def _frames(path):
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            return np.array(out)
        out.append(f)


def test_annotated_video_has_every_frame_both_cameras_and_the_truth_boxes(tiny, tmp_path, capsys):
    rec, ck = tiny
    with h5py.File(rec, "r") as h5:
        n, h, w = h5["streams/video/data"].shape
        rate = float(h5["streams/video"].attrs["rate"])
    boxed = tmp_path / "boxed.h5"  # the recording with one truth box on every video frame
    boxed.write_bytes(rec.read_bytes())
    with h5py.File(boxed, "r+") as h5:
        rows = [[k, CLASSES.index("pool"), 2, 3, 10, 12] for k in range(n)]
        h5.create_group("truth").create_dataset("video_boxes", data=np.array(rows, np.float32))
        h5["truth"].attrs["box_classes"] = list(CLASSES)
    out = tmp_path / "a.mp4"
    assert annotate_verb.cli([str(ck), str(boxed), "--out", str(out), "--start", "0.5", "--end", "1.5", "--truth",
                              "--quiet"]) == 0
    assert "attention of" in capsys.readouterr().out
    frames = _frames(out)
    want = round(1.0 * rate)
    assert abs(len(frames) - want) <= 1  # one mp4 frame per stored frame in [0.5, 1.5)
    video_w = round(w * PANEL_H / h)
    assert frames.shape[1] == HEADER_H + PANEL_H and frames.shape[2] > video_w  # video + IR side by side
    mid = frames[len(frames) // 2].astype(int)
    assert mid[:HEADER_H].max() > 150  # the header text (time, phase, alarms, weights)
    scale = PANEL_H / h
    y, x0, x1 = HEADER_H + round(3 * scale), round(2 * scale) + 2, round(10 * scale) - 2  # the box's top edge
    edge = mid[y, x0:x1]
    green = (edge[:, 1] > 150) & (edge[:, 0] < 140) & (edge[:, 2] < 140)
    assert green.mean() > 0.5, edge[:5]  # drawn in the truth colour, where the box is
    assert TRUTH_BGR[1] > 200
    assert annotate_verb.cli([str(ck), str(boxed), "--out", str(out), "--quiet"]) == 2  # exists: --force needed


def test_attention_upsampling_keeps_the_peak_on_its_cell():
    alpha = np.zeros((4, 4))
    alpha[1, 2] = 1.0
    amap = upsample_attention(alpha, (64, 64), 8, (2,))  # 8 px patches, one stride-2 stage: cells 16 px apart
    r, c = np.unravel_index(amap.argmax(), amap.shape)
    assert abs(r - (3.5 + 16)) <= 0.5 and abs(c - (3.5 + 32)) <= 0.5 and amap.shape == (64, 64)  # cell centres


def test_annotate_errors_are_one_line(tiny, tmp_path, capsys):
    rec, ck = tiny
    for args, needle in (([str(rec), "--out", str(tmp_path / "x.mp4"), "--truth"], "no ground-truth boxes"),
                         ([str(rec), "--out", str(tmp_path / "x.mp4"), "--start", "50", "--end", "60"], "hold no video frame"),
                         ([str(rec), "--out", str(tmp_path / "x.avi")], "must end in .mp4"),
                         ([str(tmp_path / "none.h5"), "--out", str(tmp_path / "x.mp4")], "none.h5")):
        assert annotate_verb.cli([str(ck), *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x.mp4").exists()


def test_predicted_boxes_of_a_box_head_are_drawn_where_it_puts_them(tiny, tmp_path, capsys):
    """A box head fixed to say "pool at (cx, cy, w, h) = (0.5, 0.5, 0.5, 0.5)" with every query: the
    orange box is drawn there, on the frames a kept window frame shows."""
    from _stream_helpers import fixed_box_checkpoint, tiny_recipe
    from weldfusion.tools.analysis.annotate import PRED_BGR

    rec, _ = tiny
    ck = fixed_box_checkpoint(tmp_path / "boxes.pt", tiny_recipe(rec.parent), CLASSES.index("pool"))
    with h5py.File(rec, "r") as h5:
        n, h, w = h5["streams/video/data"].shape
    out = tmp_path / "pred.mp4"
    assert annotate_verb.cli([str(ck), str(rec), "--out", str(out), "--start", "0.5", "--end", "1.5", "--quiet"]) == 0
    assert "predicted boxes of video" in capsys.readouterr().out
    frames = _frames(out).astype(int)
    scale = PANEL_H / h
    y, x0, x1 = HEADER_H + round(h / 4 * scale), round(w / 4 * scale) + 2, round(3 * w / 4 * scale) - 2  # top edge
    edge = frames[:, y, x0:x1]  # (frames, pixels, BGR)
    orange = (np.abs(edge - np.array(PRED_BGR)) < 60).all(-1).mean(-1) > 0.5  # per frame
    assert 0.2 < orange.mean() <= 1.0, orange  # on the frames with a kept window frame, not on every other
    assert annotate_verb.cli([str(ck), str(rec), "--out", str(tmp_path / "b.mp4"), "--box-score", "2"]) == 2
