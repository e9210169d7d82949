"""FLIR radiometric JPEGs as the thermal stream, via flyr (test files: tests/_flir.py, the FFF
layout flyr reads, with a known temperature field)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from ingest_helpers import write_manifest
from PIL import Image
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.tools import ingest as ingest_tool

from tests._flir import celsius_for, counts_for, write_flir_jpeg

pytest.importorskip("flyr")

RATE = 30.0
HOT = 5  # the frame the arc reaches the field of view: its time must be HOT / RATE


def _fields(n=12, shape=(24, 32)):
    y, x = np.mgrid[0: shape[0], 0: shape[1]]
    fields = []
    for i in range(n):
        peak = 1350.0 if i >= HOT else 400.0
        fields.append(250.0 + (peak - 250.0) * np.exp(-((x - 16) ** 2 + (y - 12) ** 2) / 40.0))
    return np.stack(fields)


def _folder(folder, stream_extra=None, emissivity=1.0):
    (folder / "ir").mkdir()
    fields = _fields()
    for i, field in enumerate(fields):
        write_flir_jpeg(folder / "ir" / f"frame_{i}.jpg", counts_for(field), emissivity=emissivity)
    stream = {"path": "ir/*.jpg", "format": "flir", "rate": RATE, **(stream_extra or {})}
    return write_manifest(folder, {"recording_id": "flir", "streams": {"thermal": stream}}), fields


def test_flir_temperatures_and_event_time(tmp_path):
    manifest, fields = _folder(tmp_path)
    out = tmp_path / "x.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec:
        info = rec.streams["thermal"]
        assert info.rate == RATE and info.shape == fields.shape and info.units == "degC"
        stored = rec.read_index("thermal", 0, info.n)
        assert np.abs(stored - fields).max() < 0.2  # 16-bit counts: quantisation well under 0.2 K here
        first_hot = int(np.argmax(stored.reshape(len(stored), -1).max(axis=1) > 1000))
        assert abs(rec.times("thermal", first_hot, first_hot + 1)[0] - HOT / RATE) < 0.5 / RATE


def test_manifest_emissivity_overrides_the_files(tmp_path):
    manifest, fields = _folder(tmp_path, {"emissivity": 0.7, "reflected_temp_c": 30.0}, emissivity=0.95)
    out = tmp_path / "x.h5"
    ingest(manifest, out, progress=False)
    with Recording(out) as rec:
        stored = rec.read_index("thermal", 0, rec.streams["thermal"].n)
    expected = celsius_for(counts_for(fields), emissivity=0.7, reflected_c=30.0)
    np.testing.assert_allclose(stored, expected, atol=0.05)
    assert (stored - fields).min() > 20.0  # a lower emissivity reads hotter than the black-body field


@pytest.mark.parametrize("case", ["plain_jpeg", "truncated", "bad_emissivity", "emissivity_on_tiff"])
def test_flir_bad_input_is_one_line(case, tmp_path, capsys):
    manifest, fields = _folder(tmp_path)
    frame = tmp_path / "ir" / "frame_3.jpg"
    data = yaml.safe_load(manifest.read_text())
    if case == "plain_jpeg":
        Image.fromarray(np.zeros((24, 32), np.uint8)).save(frame, format="JPEG")
    elif case == "truncated":
        frame.write_bytes(frame.read_bytes()[:300])
    elif case == "bad_emissivity":
        data["streams"]["thermal"]["emissivity"] = 1.5
    else:
        data["streams"]["thermal"] = {"path": "ir/*.jpg", "format": "tiff", "rate": RATE, "emissivity": 0.9}
    manifest.write_text(yaml.safe_dump(data))
    code = ingest_tool.cli([str(manifest), "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert ("frame_3.jpg" in err[0]) if case in ("plain_jpeg", "truncated") else ("emissivity" in err[0]), err
    assert not (tmp_path / "x.h5").exists()
