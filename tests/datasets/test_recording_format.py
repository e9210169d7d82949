"""HDF5 recording format: atomic writer, time-interval reader, validator."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from weldfusion.datasets import Recording, RecordingMeta, RecordingWriter, validate
from weldfusion.datasets.schema import chunk_shape

META = RecordingMeta("r1", "Al-steel", "AA6061", "DC04", "GMAW", "test")


def _write(path, **kw):
    with RecordingWriter(path, META, **kw) as w:
        w.write_stream("electrical", np.arange(40_000, dtype="f4").reshape(10_000, 4), rate=5000.0,
                       starting_time=0.5, units="mixed", channel_units=["A", "V", "m/min", "mm/s"])
        w.write_stream("video", np.arange(500 * 8 * 8, dtype="u4").astype("u1").reshape(500, 8, 8),
                       rate=250.0, units="gray8", gaps=[[1.0, 1.2]])
        ts = 0.013 + np.cumsum(np.full(100, 0.02))
        w.write_stream("thermal", np.ones((100, 4, 6), "f4"), timestamps=ts, rate=50.0, units="degC")
        w.write_labels([(0.0, 1.0, "idle"), (1.0, 2.0, "deposition")], [(1.5, 1.8, "porosity")])
    return path


def test_roundtrip_attrs_streams_labels(tmp_path):
    path = _write(tmp_path / "r.h5")
    assert validate(path) == []
    rec = Recording(path)
    assert rec.meta["format"] == "weldfusion-recording" and rec.meta["format_version"] == 1
    assert rec.meta["material_pair"] == "Al-steel"
    el = rec.streams["electrical"]
    assert el.regular and el.rate == 5000.0 and el.shape == (10_000, 4)
    assert el.channel_names == ("current", "voltage", "wire_feed", "travel_speed")
    assert (el.t_start, el.t_end) == (0.5, 2.5)
    th = rec.streams["thermal"]
    assert not th.regular and th.t_start == pytest.approx(0.033)
    assert rec.streams["video"].gaps.tolist() == [[1.0, 1.2]]
    assert [p.label for p in rec.phases] == ["idle", "deposition"]
    assert rec.defects[0].start_s == 1.5 and rec.defects[0].label == "porosity"


def test_read_interval_is_exact_and_partial(tmp_path):
    rec = Recording(_write(tmp_path / "r.h5"))
    data, t = rec.read("electrical", 1.0, 1.1)
    # samples at 0.5 + i/5000 with 1.0 <= t < 1.1 -> i in [2500, 3000)
    assert data.shape == (500, 4) and t[0] == pytest.approx(1.0) and t[-1] < 1.1
    np.testing.assert_array_equal(data[:, 0], np.arange(2500, 3000) * 4)
    data, t = rec.read("thermal", 0.5, 0.6)
    assert np.all((t >= 0.5) & (t < 0.6)) and len(t) == 5
    data, t = rec.read("video", -5.0, 0.01)  # clipped to the stream start
    assert data.shape == (3, 8, 8) and t[0] == 0.0


def test_gap_coverage_counts_gaps_and_outside(tmp_path):
    rec = Recording(_write(tmp_path / "r.h5"))
    assert rec.gap_coverage("video", 1.0, 1.2) == pytest.approx(1.0)
    assert rec.gap_coverage("video", 0.9, 1.3) == pytest.approx(0.5)
    assert rec.gap_coverage("electrical", 0.0, 1.0) == pytest.approx(0.5)  # stream starts at 0.5
    assert rec.gap_coverage("electrical", 1.0, 2.0) == 0.0


def test_chunks_follow_window_policy(tmp_path):
    rec = Recording(_write(tmp_path / "r.h5"))
    d = rec.h5["streams/video/data"]
    assert d.chunks == (1, 8, 8) and d.compression == "gzip" and d.shuffle  # one frame per chunk
    assert rec.h5["streams/electrical/data"].chunks == (1250, 4)  # 0.25 s of 5 kHz
    assert chunk_shape((512, 512), 1, 2000.0) == (1, 512, 512)
    assert chunk_shape((64,), 4, 100_000.0) == (4096, 64)  # capped at 1 MiB
    assert chunk_shape((4,), 4, 5000.0, n_expected=100) == (100, 4)


def test_writer_is_atomic_and_never_clobbers(tmp_path):
    path = tmp_path / "r.h5"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="r.h5"):
        RecordingWriter(path, META)
    assert path.read_bytes() == b"precious"
    path.unlink()
    with pytest.raises(RuntimeError):
        with RecordingWriter(path, META) as w:
            w.write_stream("video", np.zeros((5, 4, 4), "u1"), rate=10.0, units="gray8")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_writer_rejects_bad_streams_and_labels(tmp_path):
    with RecordingWriter(tmp_path / "a.h5", META) as w:
        with pytest.raises(KeyError, match="unknown modality"):
            w.write_stream("lidar", np.zeros((3, 2), "f4"), rate=1.0, units="m")
        with pytest.raises(ValueError, match="image samples"):
            w.write_stream("video", np.zeros((3, 2), "f4"), rate=1.0, units="gray8")
        with pytest.raises(ValueError, match="strictly increasing"):
            w.write_stream("acoustic", np.zeros(3, "f4"), timestamps=np.array([0.0, 0.2, 0.1]), units="Pa")
        with pytest.raises(ValueError, match="unknown phase label"):
            w.write_labels([(0.0, 1.0, "welding")])
        with pytest.raises(ValueError, match="rate"):
            w.write_stream("electrical", np.zeros((3, 4), "f4"), rate=-1.0, units="mixed")


def test_appender_chunked_equals_whole(tmp_path):
    data = np.random.default_rng(0).normal(size=(3001, 2)).astype("f4")
    with RecordingWriter(tmp_path / "a.h5", META) as w:
        app = w.create_stream("acoustic", sample_shape=(2,), dtype="f4", units="Pa", rate=16000.0,
                              channel_names=["mic", "ae"])
        for i in range(0, len(data), 700):
            app.append(data[i : i + 700])
        assert app.n == 3001
    rec = Recording(tmp_path / "a.h5")
    np.testing.assert_array_equal(rec.read_index("acoustic", 0, 3001), data)


def test_validator_reports_every_problem(tmp_path):
    path = _write(tmp_path / "r.h5")
    with h5py.File(path, "a") as h5:
        del h5.attrs["process"]
        h5.attrs["format_version"] = 7
        h5["streams/thermal/timestamps"][3] = 0.0
        del h5["streams/video"].attrs["starting_time"]
        h5["streams/electrical/data"][10, 1] = np.nan
        g = h5.create_group("streams/lidar")
        g.create_dataset("data", data=np.zeros(3))
        arr = h5["labels/phases"][()]
        arr[1]["end_s"] = 99.0
        arr[0]["label"] = "welding"
        del h5["labels/phases"]
        h5["labels"].create_dataset("phases", data=arr)
    problems = validate(path)
    text = "\n".join(problems)
    for needle in ("missing attribute 'process'", "format_version 7", "not strictly increasing",
                   "needs 'timestamps' or attributes", "NaN/inf", "unknown modality 'lidar'",
                   "outside the recording", "unknown label 'welding'"):
        assert needle in text, needle
    # the span comes from the valid streams only (electrical, 0.5-2.5 s), so both phase rows stick out
    assert sum("outside the recording" in p for p in problems) == 2
    assert len(problems) == 9


def test_validator_on_non_hdf5(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("not hdf5")
    assert "not a readable HDF5 file" in validate(bad)[0]
    assert "no such file" in validate(tmp_path / "missing.h5")[0]


def test_recording_is_picklable_without_handle(tmp_path):
    import pickle

    rec = Recording(_write(tmp_path / "r.h5"))
    _ = rec.streams
    clone = pickle.loads(pickle.dumps(rec))
    assert clone._h5 is None
    assert clone.read("video", 0.0, 0.02)[0].shape == (5, 8, 8)


def test_image_streams_written_as_direct_chunks_are_standard_hdf5(tmp_path):
    """Frames are compressed in threads and written with write_direct_chunk: the same shuffle + gzip
    bytes HDF5's filters would write, read back exactly by h5py and by h5dump."""
    import shutil
    import subprocess

    from weldfusion.datasets.reader import Recording
    from weldfusion.datasets.schema import RecordingMeta
    from weldfusion.datasets.writer import RecordingWriter, encode_chunk

    rng = np.random.default_rng(0)
    video = rng.integers(0, 255, (50, 32, 40), dtype=np.uint8)
    colour = rng.integers(0, 255, (9, 8, 6, 3), dtype=np.uint8)
    thermal = rng.normal(300, 50, (20, 12, 16)).astype(np.float32)
    path = tmp_path / "x.h5"
    with RecordingWriter(path, RecordingMeta("x", "Al-steel", "a", "b", "GMAW")) as w:
        app = w.create_stream("video", sample_shape=(32, 40), dtype=np.uint8, rate=250.0, units="gray8")
        for i in range(0, 50, 7):  # blocks of 7 frames, the last one shorter
            app.append(video[i : i + 7])
        w.write_stream("thermal", thermal, rate=50.0, units="degC")
    with Recording(path) as rec:
        np.testing.assert_array_equal(rec.read_index("video", 0, 50), video)
        np.testing.assert_array_equal(rec.read_index("thermal", 0, 20), thermal)
    # the encoder is HDF5's shuffle + deflate: h5py's own filters decode it
    import zlib

    for level in (1, 3, 4, 9):  # ISA-L (1-3) and zlib (4-9) write the same deflate format
        raw = zlib.decompress(encode_chunk(thermal[3], level))
        np.testing.assert_array_equal(np.frombuffer(raw, np.uint8).reshape(4, -1).T.copy().view(np.float32).ravel(),
                                      thermal[3].ravel())
    col_path = tmp_path / "c.h5"
    with RecordingWriter(col_path, RecordingMeta("c", "Al-steel", "a", "b", "GMAW")) as w:
        w.write_stream("video", colour, rate=100.0, units="rgb8")
    with Recording(col_path) as rec:
        np.testing.assert_array_equal(rec.read_index("video", 0, 9), colour)
    if shutil.which("h5dump"):
        out = subprocess.run(["h5dump", "-d", "/streams/thermal/data", "-s", "3,0,0", "-c", "1,1,2", str(path)],
                             capture_output=True, text=True, timeout=60).stdout
        got = [float(v) for v in out.split("(3,0,0):")[1].split("}")[0].replace("\n", " ").split(",")[:2]]
        np.testing.assert_allclose(got, thermal[3, 0, :2], rtol=1e-5)


def test_an_aborted_recording_leaves_nothing_while_frames_are_in_flight(tmp_path):
    from weldfusion.datasets.schema import RecordingMeta
    from weldfusion.datasets.writer import RecordingWriter

    path = tmp_path / "x.h5"
    with pytest.raises(RuntimeError, match="stop"):
        with RecordingWriter(path, RecordingMeta("x", "Al-steel", "a", "b", "GMAW")) as w:
            app = w.create_stream("video", sample_shape=(64, 64), dtype=np.uint8, rate=250.0, units="gray8")
            app.append(np.zeros((40, 64, 64), dtype=np.uint8))
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
