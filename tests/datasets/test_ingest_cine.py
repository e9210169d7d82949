"""Phantom CINE files as the video stream, via pycine (test files written with pycine's own header
structures: tests/_cine.py)."""

from __future__ import annotations

import numpy as np
import pytest
from ingest_helpers import write_manifest
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.tools import ingest as ingest_tool

from tests._cine import write_cine

pytest.importorskip("pycine")

FLASH = 17  # the frame where the arc ignites (a bright frame): its time must be FLASH / rate


def _clip(folder, rate=7000, cfa=0):
    rng = np.random.default_rng(3)
    frames = (rng.random((30, 24, 40)) * 400).astype(np.uint16)
    frames[FLASH:] += 3000
    write_cine(folder / "shot.cine", frames, rate, real_bpp=12, cfa=cfa)
    return write_manifest(folder, {"recording_id": "phantom", "streams": {"video": {"path": "shot.cine"}}}), frames


def test_cine_frames_rate_and_event_time(tmp_path):
    manifest, frames = _clip(tmp_path)
    out = tmp_path / "x.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["video"]
        assert info.rate == 7000.0 and info.shape == frames.shape and info.units == "gray16"
        stored = rec.read_index("video", 0, info.n)
        np.testing.assert_array_equal(stored, frames)  # top row first, values unchanged (black 0, white 4095)
        brightness = stored.reshape(len(stored), -1).mean(axis=1)
        first_bright = int(np.argmax(brightness > 1500))
        t = rec.times("video", first_bright, first_bright + 1)[0]
        assert abs(t - FLASH / 7000.0) < 0.5 / 7000.0


@pytest.mark.parametrize("case", ["truncated", "colour", "garbage", "not_cine_suffix_as_cine"])
def test_cine_bad_input_is_one_line(case, tmp_path, capsys):
    manifest, _ = _clip(tmp_path, cfa=3 if case == "colour" else 0)
    shot = tmp_path / "shot.cine"
    if case == "truncated":
        shot.write_bytes(shot.read_bytes()[:-500])
    elif case == "garbage":
        shot.write_bytes(b"\x00" * 100)
    elif case == "not_cine_suffix_as_cine":
        shot.write_bytes(b"RIFF" + b"\x01" * 20000)
    code = ingest_tool.cli([str(manifest), "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "shot.cine" in err[0], err
    assert not (tmp_path / "x.h5").exists()
