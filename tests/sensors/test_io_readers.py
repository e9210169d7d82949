"""Readers of raw sensor files: formats, values, clocks, and reading in bounded blocks."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from weldfusion.datasets.manifest import parse_manifest
from weldfusion.sensors import raw_source
from weldfusion.sensors.acoustic.io import open_source as open_acoustic
from weldfusion.sensors.electrical.io import open_source as open_electrical
from weldfusion.sensors.raw_source import IngestError
from weldfusion.sensors.thermal.io import open_source as open_thermal
from weldfusion.sensors.video.io import open_source as open_video

META = {"recording_id": "r", "material_pair": "Al-steel", "material_a": "AA6061", "material_b": "DC04",
        "process": "GMAW"}
ELEC_MAP = {"current": "I [A]", "voltage": "U [V]", "wire_feed": "WFS [m/min]", "travel_speed": "v [mm/s]"}


def manifest(tmp_path, **streams):
    return parse_manifest({**META, "streams": streams}, tmp_path / "recording.yaml")


def collect(source):
    blocks, times = zip(*source.blocks_with_times(), strict=True)
    return np.concatenate(blocks), np.concatenate(times)


def frames(n=40, h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    base = np.linspace(20, 220, n)[:, None, None]
    return np.clip(base + rng.normal(0, 3, (n, h, w)), 0, 255).astype(np.uint8)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few kB: every reader must then stream in many blocks."""
    monkeypatch.setattr(raw_source, "BLOCK_BYTES", 4096)


# -- video -------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext,fourcc", [("mp4", "mp4v"), ("avi", "MJPG"), ("mkv", "FFV1")])
def test_video_containers_grey(tmp_path, small_blocks, ext, fourcc):
    data = frames()
    path = tmp_path / f"cam.{ext}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 500.0, (32, 24), isColor=False)
    for f in data:
        writer.write(f)
    writer.release()
    src = open_video(manifest(tmp_path, video={"path": path.name, "start_time_s": 0.5}))
    got, t = collect(src)
    assert src.units == "gray8" and src.sample_shape == (24, 32) and src.rate == 500.0
    assert got.shape == data.shape and got.dtype == np.uint8
    assert np.abs(got.mean(axis=(1, 2)) - data.mean(axis=(1, 2))).max() < 3.0  # within codec loss
    np.testing.assert_allclose(t, 0.5 + np.arange(40) / 500.0)
    if ext == "mkv":
        np.testing.assert_array_equal(got, data)  # FFV1 is lossless


def test_video_colour_and_rate_override(tmp_path):
    data = np.zeros((10, 16, 16, 3), np.uint8)
    data[..., 2] = 200  # red in RGB
    path = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30.0, (16, 16))
    for f in data:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    src = open_video(manifest(tmp_path, video={"path": "cam.avi", "color": True, "rate": 4000}))
    got, t = collect(src)
    assert src.units == "rgb8" and got.shape == (10, 16, 16, 3)
    np.testing.assert_array_equal(got, data)
    assert src.rate == 4000.0 and t[1] == pytest.approx(1 / 4000)  # camera rate, not playback rate


def test_image_folder_16bit_tiff_and_png_glob(tmp_path, small_blocks):
    (tmp_path / "tif").mkdir()
    data16 = (np.arange(12 * 8 * 6, dtype=np.uint16).reshape(12, 8, 6) * 50)
    for i, f in enumerate(data16):  # natural order: frame_2 before frame_10
        cv2.imwrite(str(tmp_path / "tif" / f"frame_{i}.tiff"), f)
    src = open_video(manifest(tmp_path, video={"path": "tif", "rate": 100}))
    got, t = collect(src)
    assert src.units == "gray16" and got.dtype == np.uint16
    np.testing.assert_array_equal(got, data16)
    np.testing.assert_allclose(t, np.arange(12) / 100)
    data8 = frames(5, 8, 8)
    for i, f in enumerate(data8):
        cv2.imwrite(str(tmp_path / f"img_{i:03d}.png"), f)
    got8, _ = collect(open_video(manifest(tmp_path, video={"path": "img_*.png", "rate": 10})))
    np.testing.assert_array_equal(got8, data8)


def test_video_timestamps_csv_regular_and_irregular(tmp_path):
    data = frames(6, 8, 8)
    for i, f in enumerate(data):
        cv2.imwrite(str(tmp_path / f"f{i}.jpg"), f)
    pd.DataFrame({"frame": range(6), "t": np.arange(6) * 0.002 + 1.0}).to_csv(tmp_path / "reg.csv", index=False)
    src = open_video(manifest(tmp_path, video={"path": "f*.jpg", "timestamps": "reg.csv", "time_column": "t"}))
    assert src.regular and src.rate == 500.0 and src.start == pytest.approx(1.0)
    jitter = np.array([0.0, 0.002, 0.0045, 0.006, 0.0081, 0.010])
    pd.DataFrame({"t_ms": jitter * 1000}).to_csv(tmp_path / "irr.csv", index=False)
    src = open_video(manifest(tmp_path, video={"path": "f*.jpg", "timestamps": "irr.csv", "time_unit": "ms"}))
    got, t = collect(src)
    assert not src.regular
    np.testing.assert_allclose(t, jitter)
    assert np.abs(got.astype(int) - data).mean() < 4  # JPEG


def test_video_timestamps_count_mismatch(tmp_path):
    for i, f in enumerate(frames(4, 8, 8)):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), f)
    pd.DataFrame({"t": [0.0, 0.1, 0.2]}).to_csv(tmp_path / "ts.csv", index=False)
    with pytest.raises(IngestError, match="3 timestamps for 4 samples"):
        open_video(manifest(tmp_path, video={"path": "f*.png", "timestamps": "ts.csv"}))


def test_image_sequence_needs_rate(tmp_path):
    cv2.imwrite(str(tmp_path / "f0.png"), frames(1, 8, 8)[0])
    with pytest.raises(IngestError, match="give 'rate'"):
        open_video(manifest(tmp_path, video={"path": "f0.png"}))


# -- thermal -----------------------------------------------------------------------------------
def temperatures(n=9, h=6, w=7, seed=1):
    return np.random.default_rng(seed).uniform(20, 1500, (n, h, w)).astype(np.float32)


def test_thermal_tiff_counts_scale_offset(tmp_path, small_blocks):
    temp = temperatures()
    counts = np.rint((temp + 273.15) / 0.04).astype(np.uint16)
    (tmp_path / "ir").mkdir()
    for i, c in enumerate(counts):
        cv2.imwrite(str(tmp_path / "ir" / f"ir_{i:04d}.tif"), c)
    src = open_thermal(manifest(tmp_path, thermal={"path": "ir/*.tif", "rate": 200, "scale": 0.04,
                                                   "offset": -273.15}))
    got, t = collect(src)
    assert got.dtype == np.float32 and src.units == "degC"
    np.testing.assert_allclose(got, temp, atol=0.021)
    np.testing.assert_allclose(t, np.arange(9) / 200)


def test_thermal_integer_counts_need_scale(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4), np.uint16))
    with pytest.raises(IngestError, match="integer counts.*scale"):
        open_thermal(manifest(tmp_path, thermal={"path": "a.png", "rate": 10}))


def test_thermal_npy_mmap_and_npz_stream(tmp_path, small_blocks):
    temp = temperatures(30)
    np.save(tmp_path / "stack.npy", temp)
    got, _ = collect(open_thermal(manifest(tmp_path, thermal={"path": "stack.npy", "rate": 30})))
    np.testing.assert_array_equal(got, temp)
    counts = np.rint(temp * 10).astype(np.uint16)
    np.savez_compressed(tmp_path / "stack.npz", frames=counts, other=np.zeros(3))
    src = open_thermal(manifest(tmp_path, thermal={"path": "stack.npz", "key": "frames", "rate": 30,
                                                   "scale": 0.1, "offset": 0.0}))
    got, _ = collect(src)
    np.testing.assert_allclose(got, temp, atol=0.051)
    with pytest.raises(IngestError, match="holds 2 arrays"):
        open_thermal(manifest(tmp_path, thermal={"path": "stack.npz", "rate": 30}))


def test_thermal_csv_matrices(tmp_path):
    temp = temperatures(3, 4, 5).astype(np.float64)
    for i, m in enumerate(temp):
        np.savetxt(tmp_path / f"frame{i}.csv", m, delimiter=";", fmt="%.3f")
    got, _ = collect(open_thermal(manifest(tmp_path, thermal={"path": "frame*.csv", "rate": 25})))
    np.testing.assert_allclose(got, temp, atol=1e-3)


# -- acoustic ----------------------------------------------------------------------------------
def test_wav_float_mono(tmp_path, small_blocks):
    x = np.random.default_rng(0).normal(0, 2.0, 5000).astype(np.float32)  # Pa, beyond +-1 is fine
    sf.write(tmp_path / "mic.wav", x, 16000, subtype="FLOAT")
    src = open_acoustic(manifest(tmp_path, acoustic={"path": "mic.wav", "start_time_s": -0.25}))
    got, t = collect(src)
    assert src.sample_shape == () and src.channel_names == ("mic",) and src.units == "Pa"
    np.testing.assert_array_equal(got, x)
    assert t[0] == -0.25 and t[-1] == pytest.approx(-0.25 + 4999 / 16000)


def test_wav_mhz_acoustic_emission_multichannel(tmp_path, small_blocks):
    x = np.random.default_rng(1).uniform(-0.9, 0.9, (4000, 3)).astype(np.float32)
    sf.write(tmp_path / "ae.wav", x, 2_000_000, subtype="PCM_24")
    src = open_acoustic(manifest(tmp_path, acoustic={
        "path": "ae.wav", "units": "V",
        "channels": {"ae": {"column": 2, "scale": 10.0}, "mic": {"column": 0, "scale": 1.0}}}))
    got, t = collect(src)
    assert src.rate == 2_000_000 and src.channel_names == ("ae", "mic") and got.shape == (4000, 2)
    np.testing.assert_allclose(got[:, 0], x[:, 2] * 10, atol=10 * 2**-22)
    np.testing.assert_allclose(got[:, 1], x[:, 0], atol=2**-22)
    assert t[1] == pytest.approx(5e-7)


def test_flac_int_without_scale_is_full_scale(tmp_path):
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 3000)
    sf.write(tmp_path / "mic.flac", x, 96000, subtype="PCM_16")
    src = open_acoustic(manifest(tmp_path, acoustic={"path": "mic.flac"}))
    assert src.units == "FS" and src.channel_units == ("FS",)
    got, _ = collect(src)
    np.testing.assert_allclose(got, x, atol=2**-15)
    got, _ = collect(open_acoustic(manifest(tmp_path, acoustic={"path": "mic.flac", "scale": 20.0})))
    np.testing.assert_allclose(got, x * 20, atol=20 * 2**-15)


# -- electrical --------------------------------------------------------------------------------
def daq(n=1000, rate=5000.0, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "Time [s]": np.arange(n) / rate,
        "I [A]": rng.uniform(0, 300, n), "U [V]": rng.uniform(0, 40, n),
        "WFS [m/min]": np.full(n, 8.0), "v [mm/s]": np.full(n, 6.0),
    })


def test_csv_seconds_regular(tmp_path, small_blocks):
    df = daq()
    df.to_csv(tmp_path / "daq.csv", index=False, float_format="%.9g")
    src = open_electrical(manifest(tmp_path, electrical={"path": "daq.csv", "time_column": "Time [s]",
                                                         "channels": ELEC_MAP}))
    got, t = collect(src)
    assert src.regular and src.rate == 5000.0 and src.n == 1000 and got.shape == (1000, 4)
    assert src.channel_names == ("current", "voltage", "wire_feed", "travel_speed")
    np.testing.assert_allclose(got[:, 0], df["I [A]"], rtol=1e-6)
    np.testing.assert_allclose(t, df["Time [s]"], atol=1e-12)


def test_csv_datetime_irregular_constant_and_scale(tmp_path):
    stamps = pd.Timestamp("2024-05-01T10:00:00") + pd.to_timedelta([0, 1.0, 2.5, 3.0, 7.0], unit="ms")
    df = pd.DataFrame({"when": stamps.strftime("%d.%m.%Y %H:%M:%S.%f"), "CH1": [1.0, 1.5, 2.0, 2.5, 3.0],
                       "U": ["24,5", "24,0", "1,5", "23,0", "22,5"], "WFS": [8, 8, 8, 8, 8]})
    df["CH1"] = df["CH1"].map(lambda v: f"{v:.1f}".replace(".", ","))
    df.to_csv(tmp_path / "log.csv", index=False, sep=";")
    src = open_electrical(manifest(tmp_path, electrical={
        "path": "log.csv", "delimiter": ";", "decimal": ",", "time_column": "when",
        "time_format": "%d.%m.%Y %H:%M:%S.%f",
        "channels": {"current": {"column": "CH1", "scale": 100.0}, "voltage": "U", "wire_feed": "WFS",
                     "travel_speed": {"value": 6.5}}}))
    got, t = collect(src)
    assert not src.regular
    np.testing.assert_allclose(t, [0, 0.001, 0.0025, 0.003, 0.007], atol=1e-9)
    np.testing.assert_allclose(got[:, 0], [100, 150, 200, 250, 300])
    np.testing.assert_allclose(got[:, 1], [24.5, 24.0, 1.5, 23.0, 22.5])
    np.testing.assert_allclose(got[:, 3], 6.5)


def test_csv_time_origin_from_manifest(tmp_path):
    df = daq(5, rate=1000.0)
    df["Time [s]"] = (pd.Timestamp("2024-05-01T10:00:01") + pd.to_timedelta(df["Time [s]"], unit="s")).astype(str)
    df.to_csv(tmp_path / "daq.csv", index=False)
    m = parse_manifest({**META, "time_origin": "2024-05-01T10:00:00",
                        "streams": {"electrical": {"path": "daq.csv", "time_column": "Time [s]",
                                                   "channels": ELEC_MAP}}}, tmp_path / "recording.yaml")
    src = open_electrical(m)
    assert src.regular and src.start == pytest.approx(1.0) and src.rate == 1000.0


def test_tdms_waveform_and_time_channel(tmp_path):
    from nptdms import ChannelObject, TdmsWriter

    df = daq(600)
    with TdmsWriter(tmp_path / "daq.tdms") as w:
        for i0 in (0, 300):  # two segments
            part = df.iloc[i0 : i0 + 300]
            w.write_segment([ChannelObject("DAQ", col, part[col].to_numpy(),
                                           properties={"wf_increment": 0.0002, "wf_start_offset": 0.1})
                             for col in df.columns])
    mapping = {k: v for k, v in ELEC_MAP.items()}
    src = open_electrical(manifest(tmp_path, electrical={"path": "daq.tdms", "channels": mapping}))
    got, t = collect(src)
    assert src.rate == pytest.approx(5000.0) and src.start == pytest.approx(0.1)
    np.testing.assert_allclose(got[:, 1], df["U [V]"], rtol=1e-6)
    src = open_electrical(manifest(tmp_path, electrical={"path": "daq.tdms", "channels": mapping,
                                                         "time_column": "Time [s]"}))
    assert src.regular and src.rate == 5000.0 and src.start == 0.0


def test_csv_missing_channel_mapping(tmp_path):
    daq(10).to_csv(tmp_path / "daq.csv", index=False)
    mapping = {k: v for k, v in ELEC_MAP.items() if k != "travel_speed"}
    with pytest.raises(IngestError, match="'travel_speed' is not mapped"):
        open_electrical(manifest(tmp_path, electrical={"path": "daq.csv", "time_column": "Time [s]",
                                                       "channels": mapping}))
