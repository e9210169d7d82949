"""The high-speed camera simulator's scene: a frozen bead behind the pool, seam-bound defects, frame size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from weldfusion.datasets.simulated import VIDEO_FIELD_MM, SimConfig, simulate_run
from weldfusion.sensors.scenario import DefectEvent
from weldfusion.sensors.video.frame_rules import passage_clock, seam_behind
from weldfusion.sensors.video.simulate import FORESHORTEN, ROOT_ROW

CFG = SimConfig(duration_s=(6.0, 6.0), video_rate=100.0, thermal_rate=20.0, acoustic_rate=8000.0,
                electrical_rate=2000.0, missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)


def _sized(px: int) -> SimConfig:
    return SimConfig(**{**CFG.__dict__, "video_shape": (px, px), "video_mm_per_px": VIDEO_FIELD_MM / px})


def _row_seam_times(run, frame: int) -> np.ndarray:
    """Seam time (s) each row of ``frame`` shows (NaN ahead of the start of travel / above the root)."""
    v = run.streams["video"]
    h = v.data.shape[1]
    rows = np.arange(h, dtype=float)
    behind = np.maximum(rows - ROOT_ROW * h, 0.0) * run.config.video_mm_per_px / FORESHORTEN
    _, t_x = seam_behind(run.scenario, np.array([frame / v.rate]), behind, passage_clock(run.scenario))
    return np.where(rows > ROOT_ROW * h, t_x[0], np.nan)


@pytest.fixture(scope="module")
def base():
    return simulate_run("Ti-Ni", None, 0, 5, CFG, defects=[])


def test_bead_lies_behind_the_pool_only_where_the_torch_has_been(base):
    scn, v = base.scenario, base.streams["video"]
    h, w = v.data.shape[1:]
    late = int((scn.weld_end_s - 0.2) * v.rate)  # well into the weld: a long frozen bead below the pool
    bottom = v.data[late - 5:late + 5, -3:, :].astype(float).mean(axis=(0, 1))  # (W,) bottom rows
    centre, edge = bottom[w // 2 - 1:w // 2 + 2].mean(), np.r_[bottom[:4], bottom[-4:]].mean()
    assert centre > edge + 8, (centre, edge)
    assert np.isfinite(_row_seam_times(base, late)[-1])  # those rows show a welded seam point
    early = int((scn.weld_start_s + 0.05) * v.rate)  # just after travel started: nothing frozen yet
    assert np.isnan(_row_seam_times(base, early)[-1])
    bottom0 = v.data[early - 5:early + 5, -3:, :].astype(float).mean(axis=(0, 1))
    assert centre > bottom0[w // 2 - 1:w // 2 + 2].mean() + 20  # only the arc's light there, no bead


def test_undercut_groove_is_bounded_to_its_seam_segment_and_scrolls_with_it(base):
    scn, v = base.scenario, base.streams["video"]
    s = scn.weld_start_s + 0.8
    e = s + 0.3  # 6 mm of seam at the laser's 19 mm/s; the frame shows 16 mm (0.8 s) behind the root
    run = simulate_run("Ti-Ni", None, 0, 5, CFG, defects=[DefectEvent("undercut", s, e, side=1, seed=4)])
    for t in (e + 0.2, e + 0.5):  # after the event: the groove has moved down the frame with the bead
        k = int(t * v.rate)
        diff = np.abs(run.streams["video"].data[k].astype(float) - v.data[k].astype(float)).max(axis=1)  # (H,)
        t_row = _row_seam_times(base, k)
        changed = diff > 40
        assert changed.sum() >= 2, t
        assert np.all((t_row[changed] > s - 0.1) & (t_row[changed] < e + 0.1)), (t, t_row[changed])
        outside = np.isfinite(t_row) & ((t_row < s - 0.15) | (t_row > e + 0.15))
        assert outside.any() and diff[outside].max() < 40  # the rest of the seam is sound


def test_larger_frames_see_the_same_scene_finer():
    small = simulate_run("Al-steel", None, 0, 2, _sized(32), defects=[]).streams["video"].data
    large = simulate_run("Al-steel", None, 0, 2, _sized(64), defects=[]).streams["video"].data
    assert large.shape[1:] == (64, 64) and small.shape == (large.shape[0], 32, 32)
    down = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for f in large]).astype(float)
    small = small.astype(float)
    assert np.corrcoef(down.mean(axis=(1, 2)), small.mean(axis=(1, 2)))[0, 1] > 0.97  # same brightness history
    mean_down, mean_small = down.mean(axis=0), small.mean(axis=0)
    assert np.corrcoef(mean_down.ravel(), mean_small.ravel())[0, 1] > 0.95  # same picture
    assert np.abs(mean_down - mean_small).mean() < 6.0


def test_harder_condition_adds_spatter_and_noise_and_leaves_the_rest():
    """``synth --spatter-scale 4 --video-noise-scale 2``: about 4x the background spatter particles
    (their boxes and motion truth with them), twice the sensor noise, and the same scene otherwise
    (the default run's random streams untouched)."""
    from weldfusion.sensors.boxes import CLASSES

    base = simulate_run("Al-steel", "GMAW", 0, 3, CFG, defects=[])
    hard = simulate_run("Al-steel", "GMAW", 0, 3, SimConfig(**{**CFG.__dict__, "spatter_scale": 4.0,
                                                                 "video_noise_scale": 2.0}), defects=[])
    assert np.array_equal(base.streams["electrical"].data, hard.streams["electrical"].data)  # same process
    spatter = CLASSES.index("spatter")

    def particles(run):  # distinct spatter boxes per second of video
        b = run.truth["video_boxes"]
        return (b[:, 1] == spatter).sum() / run.scenario.duration_s

    assert particles(base) > 0 and 2.5 < particles(hard) / particles(base) < 6.0
    clean = simulate_run("Al-steel", "GMAW", 0, 3, SimConfig(**{**CFG.__dict__, "video_noise_scale": 0.0}),
                         defects=[]).streams["video"].data.astype(float)
    noisy = SimConfig(**{**CFG.__dict__, "video_noise_scale": 2.0})
    loud = simulate_run("Al-steel", "GMAW", 0, 3, noisy, defects=[]).streams["video"].data.astype(float)
    plain = base.streams["video"].data.astype(float)
    dark = (clean < 120) & (clean > 10)  # unsaturated pixels
    ratio = np.std((loud - clean)[dark]) / np.std((plain - clean)[dark])
    assert 1.7 < ratio < 2.3, ratio
    with pytest.raises(Exception, match="spatter_scale"):
        SimConfig(spatter_scale=0.5)
