"""Photron high-speed camera files (.cih + .mraw) as the video stream, via pyMRAW (which writes
them too, so the tests use real files)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.tools import ingest as ingest_tool

pyMRAW = pytest.importorskip("pyMRAW")


def _clip(folder, bit_depth, rate=5000):
    rng = np.random.default_rng(bit_depth)
    top = 255 if bit_depth == 8 else 4095  # a 12-bit sensor in 16-bit words
    frames = (rng.random((40, 32, 48)) * top).astype(np.uint8 if bit_depth == 8 else np.uint16)
    _, cih = pyMRAW.save_mraw(frames, str(folder / "shot.cih"), bit_depth=bit_depth, ext="mraw",
                              info_dict={"Record Rate(fps)": rate})
    manifest = {"recording_id": "hs", "material_pair": "Al-steel", "material_a": "AA6061", "material_b": "DC04",
                "process": "GMAW", "streams": {"video": {"path": "shot.cih"}}}
    path = folder / "recording.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path, frames


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_mraw_frames_and_record_rate(bit_depth, tmp_path):
    manifest, frames = _clip(tmp_path, bit_depth)
    out = tmp_path / "x.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["video"]
        assert info.rate == 5000.0 and info.shape == frames.shape and info.dtype == frames.dtype
        assert info.units == ("gray8" if bit_depth == 8 else "gray16")
        np.testing.assert_array_equal(rec.read_index("video", 0, info.n), frames)


@pytest.mark.parametrize("case", ["mraw_given", "garbage_header", "truncated"])
def test_mraw_bad_input_is_one_line(case, tmp_path, capsys):
    manifest, _ = _clip(tmp_path, 8)
    if case == "mraw_given":
        data = yaml.safe_load(manifest.read_text())
        data["streams"]["video"].update(path="shot.mraw", format="mraw")
        manifest.write_text(yaml.safe_dump(data))
    elif case == "garbage_header":
        (tmp_path / "shot.cih").write_text("not a header\n")
    else:  # the frames file cut short: fewer frames than the header announces
        whole = (tmp_path / "shot.mraw").read_bytes()
        (tmp_path / "shot.mraw").write_bytes(whole[: len(whole) // 2 + 7])
    code = ingest_tool.cli([str(manifest), "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "shot." in err[0], err
    assert not (tmp_path / "x.h5").exists()
