"""Alignment to the sample: one event planted per stream is found at the right window index.

Streams have different rates (video 250 Hz, thermal ~50 Hz with irregular timestamps, acoustic
16 kHz, electrical 5 kHz) and different, non-zero starting times (clock offsets already
corrected onto the recording clock). Sample k of a window starting at t0 with L samples sits at
t0 + k * window_s / L, so an event at te must appear at index (te - t0) * L / window_s, within one
sample of the window's resampled rate.
"""

from __future__ import annotations

import numpy as np
import pytest
from _window_recordings import EVENTS, write_events
from weldfusion.datasets import RecordingMeta, RecordingWriter
from weldfusion.datasets.config import (
    DataConfig,
    WindowModalities,
)
from weldfusion.datasets.resample import resample_signal, window_grid
from weldfusion.datasets.windows import WindowDataset
from weldfusion.sensors.acoustic.window import AcousticWindow
from weldfusion.sensors.electrical.window import ElectricalWindow
from weldfusion.sensors.thermal.window import ThermalWindow
from weldfusion.sensors.video.window import VideoWindow


def _config() -> DataConfig:
    # demo window lengths: 16 frames, 8 frames, 6400 samples, 800 samples per 0.4 s
    return DataConfig(modalities=WindowModalities(
        video=VideoWindow(length=16, size=(8, 6)),
        thermal=ThermalWindow(length=8, size=(8, 10)),
        acoustic=AcousticWindow(length=6400),
        electrical=ElectricalWindow(length=800),
    ))


@pytest.fixture(scope="module")
def events_ds(tmp_path_factory):
    path = write_events(tmp_path_factory.mktemp("align") / "events.h5")
    return WindowDataset(path, _config())


def _found(name: str, x: np.ndarray) -> int:
    if name in ("video", "thermal"):  # step onset: first frame above the midpoint
        level = x.mean(axis=(1, 2))
        return int(np.argmax(level > (level.min() + level.max()) / 2))
    return int(np.argmax(x[0]))  # pulse (acoustic mic, electrical current)


@pytest.mark.parametrize("name", list(EVENTS))
def test_event_found_at_the_right_index_in_every_window(events_ds, name):
    length = events_ds.info.modality(name).shape[0 if name in ("video", "thermal") else 1]
    checked = 0
    for i, (_, t0) in enumerate(events_ds.window_index):
        expected = (EVENTS[name] - t0) * length / events_ds.window_s
        if not 1.0 <= expected <= length - 2:  # event well inside this window
            continue
        item = events_ds[i]
        assert bool(item["present"][events_ds.modality_names.index(name)])
        found = _found(name, item[name].numpy())
        assert abs(found - expected) <= 1.0, f"{name} window t0={t0}: found {found}, expected {expected:.2f}"
        checked += 1
    assert checked >= 1  # hop 0.2 s, window 0.4 s: the event lies inside one or two windows


def test_window_sample_times_are_documented_grid():
    grid = window_grid(1.0, 0.4, 8)
    np.testing.assert_allclose(grid, 1.0 + np.arange(8) * 0.05)


def test_resample_signal_removes_content_above_window_nyquist():
    rate = 5000.0
    t = np.arange(5000) / rate
    grid = window_grid(0.3, 0.4, 800)  # 2 kHz window rate, Nyquist 1 kHz
    low = resample_signal(np.sin(2 * np.pi * 200 * t)[:, None], t, grid, rate)[:, 0]
    high = resample_signal(np.sin(2 * np.pi * 1800 * t)[:, None], t, grid, rate)[:, 0]
    np.testing.assert_allclose(low, np.sin(2 * np.pi * 200 * grid), atol=0.02)  # passband kept, in phase
    assert np.abs(high).max() < 0.02  # would alias to 200 Hz without the filter


def test_acoustic_emission_envelope_keeps_the_burst(tmp_path):
    """A 2-channel mic+ae stream at 100 kHz: the ae channel's RMS envelope shows a crack hit where the
    anti-aliased waveform at the 1 kHz window rate would lose it."""
    rate, te = 100_000.0, 0.7321
    t = np.arange(int(1.2 * rate)) / rate
    mic = np.zeros_like(t)
    tau = np.clip(t - te, 0.0, None)
    ae = np.where(t >= te, np.exp(-tau / 2e-4) * np.sin(2 * np.pi * 30_000 * tau), 0.0)
    meta = RecordingMeta("ae", "Al-steel", "A", "B", "GMAW", "test")
    with RecordingWriter(tmp_path / "ae.h5", meta) as w:
        w.write_stream("acoustic", np.stack([mic, ae], 1).astype(np.float32), rate=rate, units="Pa",
                       channel_names=["mic", "ae"])
    cfg = DataConfig(modalities=WindowModalities(None, None, AcousticWindow(length=400), None))
    ds = WindowDataset(tmp_path / "ae.h5", cfg)
    assert ds.info.modality("acoustic").channel_names == ("mic", "ae")
    for i, (_, t0) in enumerate(ds.window_index):
        expected = (te - t0) * 400 / 0.4
        if 1 <= expected <= 398:
            env = ds[i]["acoustic"][1].numpy()
            assert abs(int(np.argmax(env)) - expected) <= 1.0
            assert env.max() > 0.05
    cfg_wave = DataConfig(modalities=WindowModalities(None, None, AcousticWindow(length=400, envelope_channels=[]), None))
    wave = WindowDataset(tmp_path / "ae.h5", cfg_wave)
    assert max(float(wave[i]["acoustic"][1].abs().max()) for i in range(len(wave))) < 1e-2  # filtered away


@pytest.mark.parametrize(("rate", "length", "start", "t0"), [
    (5000.0, 800, 0.0213, 0.3),  # electrical 5 kHz -> 2 kHz, stream offset
    (16000.0, 6400, 0.0123, 0.3),  # same rate, sub-sample offset
    (50_000.0, 400, 0.0, 0.29),  # big ratio, window reaching the stream's end
    (5000.0, 800, 0.0, -0.01),  # window starting before the stream
])
def test_polyphase_path_equals_direct_windowed_sinc(rate, length, start, t0):
    from weldfusion.datasets.resample import ROLLOFF, sinc_interp

    rng = np.random.default_rng(0)
    t = start + np.arange(int(0.7 * rate)) / rate  # 0.7 s of samples
    x = rng.normal(size=(len(t), 2))
    grid = window_grid(t0, 0.4, length)
    fast = resample_signal(x, t, grid, rate)
    direct = sinc_interp(x, t, grid, ROLLOFF * min(rate, length / 0.4) / 2, rate)
    np.testing.assert_allclose(fast, direct, atol=1e-9)
    irregular = resample_signal(x, t, grid, rate, regular=False)
    np.testing.assert_allclose(irregular, direct, atol=1e-9)


@pytest.mark.parametrize("square", [False, True])
def test_bin_reduce_regular_fast_path_equals_the_general_one(square):
    """Back-to-back equal bins (a regular stream) take a reshape; the result equals the cumulative-sum path."""
    from weldfusion.datasets import resample

    rng = np.random.default_rng(0)
    rate, n = 100_000.0, 40_000
    x = rng.normal(0, 1, (n, 2)).astype(np.float32)
    times = np.arange(n) / rate
    grid = 0.1 + (np.arange(400) + 0.5) / 4000.0  # 400 bins of 25 samples inside the stream
    fast = resample._bin_reduce(x, times, grid, square)
    lo, hi = resample._bins(times, grid)
    assert np.all(hi - lo == 25)  # the fast path applies
    v = x.astype(np.float64) ** 2 if square else x.astype(np.float64)
    ref = np.stack([v[a:b].mean(axis=0) for a, b in zip(lo, hi, strict=True)])
    # float32 samples are summed in float32 (resample._bin_reduce): ~1e-7 relative per bin
    np.testing.assert_allclose(fast, np.sqrt(ref) if square else ref, rtol=2e-6, atol=2e-7)
    exact = resample._bin_reduce(x.astype(np.float64), times, grid, square)  # float64 samples: float64 sums
    np.testing.assert_allclose(exact, np.sqrt(ref) if square else ref, rtol=1e-12, atol=1e-12)
    jitter = times + rng.uniform(-1e-6, 1e-6, n) * (np.arange(n) % 7 == 0)  # unequal bins: the general path
    general = resample._bin_reduce(x, jitter, grid, square)
    assert general.shape == fast.shape and np.abs(general - fast).max() < 0.5


def test_regular_times_equal_the_built_array_without_building_it():
    """RegularTimes (a MHz window's sample times, not built) gives what the full array gives: elements,
    masks, slices, and searchsorted on both sides, at rates and offsets where rounding bites."""
    from weldfusion.datasets.sample_times import RegularTimes, regular_times, searchsorted

    rng = np.random.default_rng(3)
    for rate in (1e6, 16_000.0, 1234.567, 30.0):
        st, i0, n = float(rng.uniform(-3, 3)), int(rng.integers(0, 10**6)), 2500
        lazy, full = RegularTimes(st, rate, i0, i0 + n), regular_times(st, rate, i0, i0 + n)
        assert np.array_equal(np.asarray(lazy), full) and len(lazy) == n
        values = np.concatenate([full[::97], full[::89] + rng.normal(0, 0.3 / rate, len(full[::89])),
                                 np.nextafter(full[::101], -np.inf), [full[0] - 1.0, full[-1] + 1.0]])
        for side in ("left", "right"):
            np.testing.assert_array_equal(searchsorted(lazy, values, side), np.searchsorted(full, values, side=side))
        k = rng.integers(0, n, 40)
        mask = rng.random(n) < 0.2
        assert np.array_equal(lazy[k], full[k]) and np.array_equal(lazy[mask], full[mask])
        assert lazy[-1] == full[-1] and np.array_equal(lazy[5:50:3], full[5:50:3])
    with pytest.raises(IndexError):
        RegularTimes(0.0, 10.0, 0, 5)[5]


def test_bin_cache_reuses_bins_of_the_last_window_bit_for_bit():
    """Overlapping windows of a regular stream through a BinCache give exactly the bins computed afresh,
    whether the next window is shifted by whole bins (reused), by a part of a bin or jumps away (recomputed)."""
    from weldfusion.datasets import resample
    from weldfusion.datasets.sample_times import RegularTimes

    rng = np.random.default_rng(5)
    rate, window_s, length = 100_000.0, 0.04, 400  # 10 samples per bin
    x = rng.normal(0, 1, (200_000, 1)).astype(np.float32)
    caches = {resample.bin_rms: resample.BinCache(), resample.bin_mean: resample.BinCache()}
    reused = []
    for t0 in (0.1, 0.11, 0.12, 0.12005, 0.5, 0.5):
        i0, i1 = int(round((t0 - 0.001) * rate)), int(round((t0 + window_s + 0.001) * rate))
        times = RegularTimes(0.0, rate, i0, i1)
        grid = resample.window_grid(t0, window_s, length)
        for reduce in (resample.bin_rms, resample.bin_mean):
            fresh = reduce(x[i0:i1], times, grid)
            before = caches[reduce]._values
            cached = reduce(x[i0:i1], times, grid, caches[reduce])
            assert np.array_equal(cached, fresh), (t0, reduce.__name__)
            reused.append(before is not None and np.isin(caches[reduce]._values, before).mean())
    assert reused[2] > 0.7 and reused[10] > 0.99  # 0.11 s: 3/4 of its bins were the 0.1 s window's; 0.5 s again: all
    np.testing.assert_allclose(fresh, resample.bin_mean(x[i0:i1].astype(np.float64), np.asarray(times), grid),
                               rtol=1e-5, atol=1e-6)
