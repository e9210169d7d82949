"""Physical simulator of a high-speed camera on the arc and weld pool (grey, 8 bit).

Camera on the travel carriage behind the torch, looking forward and down at the arc: columns run
across the joint (joint at column W/2, material ``a`` on the left, ``b`` on the right), the arc
root sits at row ``0.55 H``, the weld pool and fresh bead trail towards the camera (down the
frame) and the open joint lies ahead of the arc (up the frame). The scene per frame:

* plates of the two materials lit by the arc (their visible reflectance differs) and the open
  joint gap ahead of the pool;
* the weld pool: an ellipse sized by the molten region of the heat flow, glowing with the lagged
  heat input (it stays red-hot a moment after the arc is gone) and mirroring the arc; its
  surface carries capillary waves running out from the arc root and the pool breathes at its
  oscillation frequency (both averaged over the exposure, so the frame rate changes only how
  much of the oscillation a frame resolves);
* the solidified bead behind the pool: each row shows the seam point the torch passed
  ``row distance / foreshortening`` mm earlier, as wide as the union of the pools that covered
  it (a weaving torch leaves a bead as wide as its weave), with solidification ripples at a
  fixed pitch along the seam, a bright crown and a glow that fades with the time since it froze;
* the electrode wire (GMAW) or tungsten (TIG) as a silhouette against the glare, with a hot tip;
  a laser shows a keyhole spot and a flickering metal-vapour plume instead;
* a saturating arc core whose brightness is the arc power integrated over the exposure, so it
  flickers with the short circuits (the arc is out while the wire is shorted);
* spatter particles thrown at re-ignitions, flying ballistic paths (gravity) as streaks;
* weaving moves the arc and pool sideways in the frame.

Defects are bounded physical features where the seam has them, so they scroll down the frame
with the bead once the torch has passed: porosity (dark pores / bright gas bursts on the pool,
pool jitter, surface pores frozen into the bead at fixed seam points), lack_of_fusion (the
narrower pool of the heat flow; the unfused joint line stays visible through the bead),
burn_through (dark hole in an enlarged pool), spatter (many more particles), undercut (a groove
along one bead toe over the seam segment where it formed, its outer wall catching the arc light).

Frame size: the pixel pitch ``mm_per_px`` sets the scale of everything (all sizes below are in
mm), so a 128 or 256 px camera over the same field of view sees the same scene, finer. Sensor:
shot and read noise, 8-bit saturation. Vectorised over blocks of frames.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from weldfusion.sensors.boxes import VISIBLE_GREY, BoxList, glow_radius
from weldfusion.sensors.electrical.simulate import ArcWaveforms, lag
from weldfusion.sensors.plume import PLUME_RATE, plume_flicker
from weldfusion.sensors.scenario import (
    CONTROL_RATE,
    SC_PARTICLES_MEAN,
    SPATTER_SLOTS,
    Scenario,
    event_envelope,
)
from weldfusion.sensors.thermal.conduction import HeatFlow, absorbed_power
from weldfusion.sensors.video import fsw
from weldfusion.sensors.video.frame_rules import passage_clock, seam_behind, to_gray8

#: Fraction of the frame period the shutter is open.
SHUTTER = 0.5
#: Frames rendered per vectorised block.
BLOCK = 128
#: Arc root row as a fraction of the frame height.
ROOT_ROW = 0.55
#: Spatter particle lifetime (s) and speed range (m/s).
SPATTER_LIFE_S = 0.05
SPATTER_SPEED = (0.4, 2.5)
GRAVITY_MM_S2 = 9810.0
#: Arc voltage = electrode falls + column field x arc length (V, V/mm).
ARC_FALLS_V = 10.5
ARC_FIELD_V_MM = 1.5
#: How long the pool keeps glowing after the power changes (s).
GLOW_LAG_S = 0.1
#: The camera's oblique view shortens lengths along the seam by this factor.
FORESHORTEN = 0.45
#: Pixel pitch (mm) at which the scene's pixel constants were drawn (64 px over 16 mm).
REF_MM_PER_PX = 0.25
#: Solidification ripples on the bead: pitch along the seam (mm), contrast.
RIPPLE_PITCH_MM = 0.8
RIPPLE_CONTRAST = 0.25
#: Time constant (s) of the bead's incandescence after it froze.
BEAD_COOL_S = 0.35
#: Pool surface: capillary wavelength (mm), wave and breathing amplitudes, oscillation frequency range (Hz).
POOL_WAVE_MM = 1.2
POOL_WAVE_AMP = 0.12
#: Laser/TIG: particles ejected from the keyhole or pool per second of burning (Poisson).
EJECTIONS_PER_S = 3.0
POOL_BREATH_AMP = 0.05
POOL_OSC_HZ = (60.0, 140.0)
#: Undercut groove: width (mm) and distance of its centre outside the bead toe (mm).
GROOVE_WIDTH_MM = 0.6
#: Ground-truth boxes: a burn-through hole / undercut groove counts as visible from this severity
#: envelope on (the hole darkens the pool by 0.9 x it, the groove the toe by 0.85 x it).
BURN_VISIBLE = 0.1
GROOVE_VISIBLE = 0.1
#: Motion truth: an object moved between frames when it shifted by at least this much (px); the
#: pool surface moves wherever the exposure keeps this share of its capillary waves.
MOTION_PX = 0.25
MOTION_WAVE_GAIN = 0.1
#: Surface pores frozen into the bead: count per mm of porous seam per unit severity, radius (mm).
BEAD_PORES_PER_MM = 1.2
BEAD_PORE_R_MM = 0.25


def _window_mean(values: np.ndarray, rate: float, starts: np.ndarray, length_s: float) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    i0 = np.clip(np.round(starts * rate).astype(np.int64), 0, values.size)
    i1 = np.clip(i0 + max(1, round(length_s * rate)), 0, values.size)
    return (c[i1] - c[i0]) / np.maximum(i1 - i0, 1)


def _particle_rows(t: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Particles (P, 4) born at ``t`` (P,) s from uniforms ``u`` (P, >= 3): birth time, direction
    angle rad from vertical (within +-75 deg), speed m/s, brightness 0.5-1."""
    return np.stack([t, (u[:, 0] - 0.5) * np.radians(150), SPATTER_SPEED[0] + u[:, 1] * np.ptp(SPATTER_SPEED),
                     0.5 + 0.5 * u[:, 2]], axis=1)


def _clutter(scn: Scenario, births: np.ndarray, extra: float) -> np.ndarray:
    """``extra`` x as many background particles again (P, 4) as the process throws, born at ``births``
    (re-ignitions, or any time the arc burns when empty): the harder condition of ``synth
    --spatter-scale``. Its own random stream, so the default run is unchanged."""
    crng = scn.rng("clutter")
    arc_s = max(scn.extinction_s - scn.ignition_s, 0.0)
    if births.size:
        n = crng.poisson(extra * SC_PARTICLES_MEAN * births.size)
        t = crng.choice(births, size=n)
    else:
        n = crng.poisson(extra * EJECTIONS_PER_S * arc_s)
        t = scn.ignition_s + crng.uniform(size=n) * arc_s
    return _particle_rows(t, crng.uniform(size=(n, 3)))


def _particles(scn: Scenario, rng: np.random.Generator, spatter_scale: float = 1.0) -> np.ndarray:
    """Spatter particles (P, 4): birth time s, direction angle rad from vertical, speed m/s, brightness
    0-1; ``spatter_scale`` > 1 adds background spatter (the defect's bursts stay as they are)."""
    rows = []
    births = scn.sc_start + scn.sc_dur if scn.has_short_circuits else np.zeros(0)  # re-ignitions
    if births.size:  # thrown at re-ignition
        slot = np.arange(SPATTER_SLOTS)[None, :]
        use = slot < scn.sc_particles[:, None]  # (K, S)
        rows.append(_particle_rows(np.broadcast_to(births[:, None], use.shape)[use], scn.sc_slots[use]))
    else:  # laser/TIG: a few ejections from the keyhole / pool
        arc_s = max(scn.extinction_s - scn.ignition_s, 0.0)
        n = rng.poisson(EJECTIONS_PER_S * arc_s)
        u = rng.uniform(size=(n, 4))
        rows.append(_particle_rows(scn.ignition_s + u[:, 3] * arc_s, u))
        for ev in scn.events("spatter"):
            erng = np.random.default_rng([ev.seed, 11])
            n = erng.poisson(120.0 * ev.severity * (ev.end_s - ev.start_s))
            u = erng.uniform(size=(n, 4))
            rows.append(_particle_rows(ev.start_s + u[:, 3] * (ev.end_s - ev.start_s), u))
    if spatter_scale > 1.0:
        rows.append(_clutter(scn, births, spatter_scale - 1.0))
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, 4))


def _splat_particles(img: np.ndarray, i0: int, times: np.ndarray, rate: float, parts: np.ndarray,
                     origin_xy: np.ndarray, mm_per_px: float, boxes: BoxList | None = None,
                     motion: np.ndarray | None = None) -> None:
    """Add particle streaks to the block ``img`` (F, H, W) covering frames i0.. (in place); each
    particle's streak in a frame, where it is visible, is a ``spatter`` box and moving pixels in
    ``motion`` (F, H, W) bool."""
    f, h, w = img.shape
    t_lo, t_hi = times[i0], times[i0 + f - 1] + SHUTTER / rate
    sel = (parts[:, 0] < t_hi) & (parts[:, 0] + SPATTER_LIFE_S > t_lo)
    if not sel.any():
        return
    p = parts[sel]
    k_first = np.maximum(np.floor(p[:, 0] * rate).astype(np.int64), i0)
    k_last = np.minimum(np.floor((p[:, 0] + SPATTER_LIFE_S) * rate).astype(np.int64), i0 + f - 1)
    counts = np.maximum(k_last - k_first + 1, 0)
    pid = np.repeat(np.arange(p.shape[0]), counts)
    frame = k_first[pid] + (np.arange(pid.size) - np.repeat(np.cumsum(counts) - counts, counts))
    sub = (np.arange(4) + 0.5) / 4 * SHUTTER / rate  # 4 points along the exposure -> a streak
    age = (frame[:, None] / rate + sub[None, :]) - p[pid, 0][:, None]  # (Q, 4) s
    ok = (age >= 0) & (age < SPATTER_LIFE_S)
    speed = p[pid, 2][:, None] * 1000.0 / mm_per_px  # px/s
    ang = p[pid, 1][:, None]
    birth_frame = np.clip(np.floor(p[pid, 0] * rate).astype(np.int64), 0, origin_xy.shape[0] - 1)
    x0, y0 = origin_xy[birth_frame, 0][:, None], origin_xy[birth_frame, 1][:, None]
    x = x0 + speed * np.sin(ang) * age
    y = y0 - speed * np.cos(ang) * age + 0.5 * GRAVITY_MM_S2 / mm_per_px * age**2
    val = 220.0 * p[pid, 3][:, None] * np.exp(-age / 0.03)
    xi, yi = np.round(x).astype(np.int64), np.round(y).astype(np.int64)
    ok &= (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    fr = np.broadcast_to((frame - i0)[:, None], ok.shape)
    np.add.at(img, (fr[ok], yi[ok], xi[ok]), val[ok].astype(np.float32))
    seen = ok & (val >= VISIBLE_GREY)
    if motion is not None:  # a flying particle always moves: at least 0.4 m/s
        motion[fr[seen], yi[seen], xi[seen]] = True
    q = seen.any(axis=1)
    if boxes is not None and q.any():
        big = np.iinfo(np.int64).max
        boxes.add("spatter", frame[q], np.where(seen, xi, big).min(axis=1)[q], np.where(seen, yi, big).min(axis=1)[q],
                  np.where(seen, xi, -1).max(axis=1)[q] + 1, np.where(seen, yi, -1).max(axis=1)[q] + 1)


def _sinc(x: np.ndarray | float) -> np.ndarray:
    """Exposure averaging of a sinusoid: mean of sin over a window of ``x`` periods, relative."""
    return np.sinc(np.asarray(x, dtype=np.float64))


def _bead_edges(scn: Scenario, heat: HeatFlow) -> tuple[np.ndarray, np.ndarray, float]:
    """Lateral edges of the frozen bead (mm, + towards b) where the torch was at each ``scn.t`` (T,) each,
    and the time ``span`` s a seam point takes to freeze.

    The pool trails the torch by its length, so a seam point freezes with the union of the pools
    that covered it: over the next ``span = length / travel`` seconds (the run's median), the widest
    excursion of ``weave +- pool half width`` (a weaving torch leaves a bead as wide as its weave,
    not a zigzag). A frame shows a seam point as bead only once it is ``span`` old, so no frame
    sees the future.
    """
    hw, ln = heat.pool_at(scn.t)
    welding = hw > 0
    upper = np.where(welding, scn.weave + hw, -np.inf)
    lower = np.where(welding, scn.weave - hw, np.inf)
    moving = welding & (scn.travel > 0.5)
    span_s = float(np.median(ln[moving] / scn.travel[moving])) if moving.any() else 0.1
    n = int(np.clip(span_s, 0.05, 2.0) * CONTROL_RATE)
    upper = maximum_filter1d(upper, size=n, origin=-(n // 2), mode="nearest")  # over [t, t + span]
    lower = minimum_filter1d(lower, size=n, origin=-(n // 2), mode="nearest")
    ok = np.isfinite(upper) & np.isfinite(lower) & (upper > lower)
    return np.where(ok, lower, 0.0), np.where(ok, upper, 0.0), n / CONTROL_RATE


def _bead_pores(scn: Scenario) -> np.ndarray:
    """Surface pores frozen into the bead (P, 3): seam position mm, lateral offset (fraction of the bead
    half width, -1..1), relative darkness 0-1; drawn per porosity event over the seam segment it covers."""
    rows = []
    for ev in scn.events("porosity"):
        x0, x1 = np.interp([ev.start_s, ev.end_s], scn.t, scn.torch_x)
        erng = np.random.default_rng([ev.seed, 14])
        n = erng.poisson(BEAD_PORES_PER_MM * ev.severity * max(x1 - x0, 0.0))
        rows.append(np.stack([erng.uniform(x0, x1, n), erng.uniform(-0.8, 0.8, n), erng.uniform(0.5, 1.0, n)], axis=1))
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, 3))


def _splat_bead_pores(img: np.ndarray, times: np.ndarray, scn: Scenario, edges: tuple[np.ndarray, np.ndarray, float],
                      pores: np.ndarray, y_root: float, pool_l: np.ndarray, mm_per_px: float,
                      clock: tuple[np.ndarray, np.ndarray], boxes: BoxList | None = None, i0: int = 0) -> None:
    """Darken the frozen surface pores visible in the block ``img`` (F, H, W) at frame ``times`` (F,)
    (in place); each is a ``pore`` box (frame ``i0`` + its index in the block)."""
    if pores.shape[0] == 0:
        return
    f, h, w = img.shape
    x_now = np.interp(times, scn.t, scn.torch_x)  # (F,)
    row = y_root + (x_now[:, None] - pores[None, :, 0]) * FORESHORTEN / mm_per_px  # (F, P)
    solid = row > y_root + 1.6 * pool_l[:, None]  # behind the pool's tail
    fi, pi = np.nonzero(solid & (row < h))
    if fi.size == 0:
        return
    t_p = np.interp(pores[pi, 0], *clock)  # when the torch was over the pore
    frozen = times[fi] - t_p >= edges[2]
    fi, pi, t_p = fi[frozen], pi[frozen], t_p[frozen]
    lo_mm, hi_mm = np.interp(t_p, scn.t, edges[0]), np.interp(t_p, scn.t, edges[1])
    col = w / 2 + (0.5 * (hi_mm + lo_mm) + pores[pi, 1] * 0.5 * (hi_mm - lo_mm)) / mm_per_px
    r = max(BEAD_PORE_R_MM / mm_per_px, 0.7)
    k = int(np.ceil(r))
    if boxes is not None:  # the drawn disc: offsets with ddx^2 + ddy^2 <= r^2 + 1/4
        reach = int(np.floor(np.sqrt(r * r + 0.25)))
        yc, xc = np.round(row[fi, pi]), np.round(col)
        boxes.add("pore", i0 + fi, xc - reach, yc - reach, xc + reach + 1, yc + reach + 1)
    for ddy in range(-k, k + 1):
        for ddx in range(-k, k + 1):
            if ddx * ddx + ddy * ddy > r * r + 0.25:
                continue
            yy, xx = np.round(row[fi, pi]).astype(np.int64) + ddy, np.round(col).astype(np.int64) + ddx
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            np.multiply.at(img, (fi[ok], yy[ok], xx[ok]), (1.0 - 0.7 * pores[pi, 2][ok]).astype(np.float32))


class VideoSim(NamedTuple):
    """What :func:`simulate` returns.

    Attributes:
        frames: (N, H, W) uint8 (frame i exposed on [i / rate, (i + SHUTTER) / rate)).
        arc_xy: (N, 2) float32 arc centre (column, row) in pixels.
        boxes: (K, 6) float32 ``[frame, class, x0, y0, x1, y1]`` of every visible arc core, pool,
            wire tip, spatter particle, pore, undercut groove and burn-through hole
            (:mod:`weldfusion.sensors.boxes`).
        motion: (N, H, ceil(W / 8)) uint8, the per-pixel motion truth packed along rows
            (``np.unpackbits(motion, axis=-1, count=W)``): pixels of what moved since the previous
            frame — spatter in flight, the pool surface where its waves show, and the pool, arc
            core, wire and its tip while the torch weaves or the arc length / tip shift by at least
            :data:`MOTION_PX` (droplets detaching, short circuits).
    """

    frames: np.ndarray
    arc_xy: np.ndarray
    boxes: np.ndarray
    motion: np.ndarray


def simulate(
    scn: Scenario,
    wave: ArcWaveforms | None,
    heat: HeatFlow,
    rate: float,
    shape: tuple[int, int] = (64, 64),
    mm_per_px: float = 0.25,
    spatter_scale: float = 1.0,
    noise_scale: float = 1.0,
) -> VideoSim:
    """High-speed frames at ``rate`` Hz, with their ground truth (:class:`VideoSim`).

    ``spatter_scale`` (>= 1) multiplies the background spatter and ``noise_scale`` the camera's
    shot and read noise: a harder condition than the default (1, 1) camera and process. A friction
    stir weld (``wave`` None: no arc) is rendered by :func:`weldfusion.sensors.video.fsw.render`."""
    rng = scn.rng("video")
    if scn.is_fsw:  # no arc: the rotating tool and the stirred bead (:mod:`.fsw`)
        frames, arc_xy, motion = fsw.render(scn, rate, shape, mm_per_px, noise_scale, rng, SHUTTER, ROOT_ROW,
                                            FORESHORTEN, BLOCK)
        return VideoSim(frames, arc_xy, BoxList(shape).array(), motion)
    h, w = shape
    sc = REF_MM_PER_PX / mm_per_px  # pixels per pixel of the 64 px reference camera
    n = round(scn.duration_s * rate)
    times = np.arange(n) / rate
    exposure = SHUTTER / rate
    t_mid = times + 0.5 * exposure
    p_nom = scn.params.current_a * scn.params.voltage_v
    arc_frac = _window_mean(wave.arc_on.astype(np.float64), wave.rate, times, exposure)  # (N,)
    # brightness: set-point arc power x share of the exposure the arc burns (flicker with the shorts)
    arc_pow = arc_frac * scn.at("voltage", times) * scn.at("current", times) / p_nom  # (N,) relative
    energised = _window_mean(wave.energised.astype(np.float64), wave.rate, times, exposure)
    half_w, length = heat.pool_at(times)
    glow_t = np.clip(lag(absorbed_power(scn, scn.t), GLOW_LAG_S, CONTROL_RATE) / p_nom, 0.0, 1.6) ** 0.5  # on scn.t
    glow = np.interp(times, scn.t, glow_t)  # (N,) lagged heat -> incandescence
    u_set = scn.at("voltage", times)
    i_rel = np.maximum(scn.at("current", times) / scn.params.current_a, 0.0)

    x_arc = w / 2 + scn.at("weave", times) / mm_per_px  # (N,) weaving moves the arc sideways
    y_root = ROOT_ROW * h
    arc_len = np.clip((u_set - ARC_FALLS_V) / ARC_FIELD_V_MM, 0.5, 6.0) / mm_per_px  # column above the electrode falls
    if scn.process == "laser":
        arc_len = np.full(n, 2.0 * sc)
    y_mid = y_root - 0.5 * arc_len * np.clip(arc_frac, 0.0, 1.0)
    tip = y_root - arc_len * np.clip(arc_frac / np.maximum(energised, 1e-6), 0.0, 1.0)

    # pool oscillation: frequency falls as the pool grows (f ~ 1 / sqrt(length)); phase integrated
    # on the control grid, so every frame rate samples the same oscillation
    f0 = rng.uniform(*POOL_OSC_HZ)
    _, len_t = heat.pool_at(scn.t)
    f_t = f0 * np.sqrt(5.0 / np.maximum(len_t, 1.0))
    phase_t = 2 * np.pi * np.cumsum(f_t) / CONTROL_RATE + rng.uniform(0, 2 * np.pi)
    osc_phase = np.interp(t_mid, scn.t, phase_t)  # (N,) rad
    osc_gain = _sinc(np.interp(t_mid, scn.t, f_t) * exposure)  # (N,) what one exposure keeps of it
    breath = 1.0 + POOL_BREATH_AMP * osc_gain * np.sin(osc_phase)
    pool_w = np.clip(half_w / mm_per_px, 0.0, w / 2) * breath
    pool_l = np.clip(FORESHORTEN * length / mm_per_px, 0.0, h) * breath  # foreshortened by the oblique view
    pool_w = np.where(pool_w > 0, np.maximum(pool_w, 2.0 * sc), 0.0)
    pool_l = np.where(pool_l > 0, np.maximum(pool_l, 2.0 * sc), 0.0)

    # defects: per-frame modifiers
    burn = scn.envelope("burn_through", times)
    under = scn.events("undercut")
    pore_events = []
    for ev in scn.events("porosity"):
        erng = np.random.default_rng([ev.seed, 12])
        env = ev.severity * event_envelope(ev, times)
        pore_events.append((ev, env, erng.poisson(8.0 * env), erng.standard_normal(n)))
    pool_jitter = np.ones(n)
    for _, env, _, jit in pore_events:
        pool_jitter *= 1.0 + 0.25 * env * jit
    bead_pores = _bead_pores(scn)
    bead_lo, bead_hi, freeze_s = _bead_edges(scn, heat)
    clock = passage_clock(scn)  # once per run, not per block

    plume = np.ones(n)
    if scn.process == "laser":  # metal-vapour plume fluctuates at 50-500 Hz, whatever the frame rate
        exposure_mean = _window_mean(plume_flicker(scn), PLUME_RATE, times, exposure)  # what one exposure integrates
        plume = np.clip(1.0 + 0.35 * exposure_mean, 0.2, 2.0)
        plume *= 1.0 - 0.5 * burn  # full penetration: plume partly exits at the root

    parts = _particles(scn, rng, spatter_scale)
    origin = np.stack([x_arc, np.full(n, y_root - 2.0 * sc)], axis=1)
    mat_a, mat_b = scn.pair.a, scn.pair.b
    cols = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)
    refl = np.where(cols < w / 2, mat_a.reflectance, mat_b.reflectance).astype(np.float32)  # (W,)
    refl_bead = np.float32(0.5 * (mat_a.reflectance + mat_b.reflectance))
    gap = (np.abs(cols - (w / 2 - 0.5)) < 1.0 * sc)[None, :] & (rows[:, None] < y_root - 3 * sc)  # (H, W) open joint ahead
    behind_mm = np.maximum(rows - y_root, 0.0) * mm_per_px / FORESHORTEN  # (H,) seam distance each row shows
    ripple_gain = _sinc(mm_per_px / FORESHORTEN / RIPPLE_PITCH_MM)  # a pixel averages over part of a ripple
    frames = np.empty((n, h, w), dtype=np.uint8)
    arc_amp = arc_pow  # arc power integrated over the exposure, relative to nominal
    boxes = BoxList((h, w))
    motion_bits = np.zeros((n, h, -(-w // 8)), dtype=np.uint8)

    def shift(v: np.ndarray) -> np.ndarray:
        return np.abs(np.diff(v, prepend=v[:1]))  # (N,) px moved since the previous frame

    torch_moves = (shift(x_arc) >= MOTION_PX) | (shift(y_mid) >= MOTION_PX)  # (N,) weave, arc length
    tip_moves = (shift(x_arc) >= MOTION_PX) | (shift(tip) >= MOTION_PX)  # (N,) droplets, shorts
    pool_moves = (osc_gain >= MOTION_WAVE_GAIN) | torch_moves | (shift(pool_w) >= MOTION_PX) | (shift(pool_l) >= MOTION_PX)

    for i0 in range(0, n, BLOCK):
        sl = slice(i0, min(i0 + BLOCK, n))
        f = sl.stop - sl.start
        fidx = np.arange(sl.start, sl.stop)
        motion = np.zeros((f, h, w), dtype=bool)
        xa = x_arc[sl, None, None].astype(np.float32)
        dx = cols[None, None, :] - xa  # (F, 1, W)
        dyr = rows[None, :, None] - np.float32(y_root)  # (1, H, 1)
        amp = arc_amp[sl, None, None].astype(np.float32)
        lit = 90.0 * amp / (1.0 + (dx**2 + dyr**2) / (300.0 * sc**2))  # (F, H, W) arc light falling on the plate
        # plates lit by the arc (inverse-square-like fall-off) + ambient
        light = 6.0 + lit * refl[None, None, :]
        light = light * np.where(gap[None], 0.35, 1.0).astype(np.float32)
        # the bead behind the pool: the seam as the torch left it
        seam_x, t_x = seam_behind(scn, times[sl], behind_mm, clock)  # (F, H)
        # frozen seam: points at least freeze_s old (the pool, drawn over it, covers the younger ones)
        made = np.isfinite(t_x) & (times[sl, None] - np.nan_to_num(t_x, nan=np.inf) >= freeze_s) & (rows[None, :] > y_root)
        tx = np.where(made, t_x, 0.0)
        lo_mm, hi_mm = np.interp(tx, scn.t, bead_lo), np.interp(tx, scn.t, bead_hi)  # (F, H)
        bead_hw = np.where(made, 0.5 * (hi_mm - lo_mm), 0.0) / mm_per_px  # (F, H) px
        centre = w / 2 + 0.5 * (hi_mm + lo_mm) / mm_per_px  # (F, H)
        u = (cols[None, None, :] - centre[:, :, None]) / np.maximum(bead_hw, 1e-3)[:, :, None]  # (F, H, W)
        inside = np.clip((1.0 - np.abs(u)) * 3.0, 0.0, 1.0) * (bead_hw > 0.5)[:, :, None]
        ripple = 1.0 + RIPPLE_CONTRAST * ripple_gain * np.cos(2 * np.pi * seam_x / RIPPLE_PITCH_MM)  # (F, H)
        age = np.maximum(times[sl, None] - tx, 0.0)
        bead_glow = 70.0 * np.interp(tx, scn.t, glow_t) * np.exp(-age / BEAD_COOL_S)  # (F, H)
        bead = (6.0 + lit * refl_bead * (1.0 - 0.5 * u**2) * ripple[:, :, None] + bead_glow[:, :, None])
        lof = np.where(made, scn.envelope("lack_of_fusion", tx), 0.0)  # (F, H)
        if np.any(lof > 0):  # the unfused joint line shows through the bead
            line = (np.abs(cols - (w / 2 - 0.5)) < 0.5 * sc)[None, None, :]
            bead = bead * (1.0 - 0.6 * np.minimum(lof, 1.0)[:, :, None] * line)
        light = light * (1.0 - inside) + bead * inside
        # weld pool: ellipse trailing from the arc root towards the camera, capillary waves on it
        pw, pl = pool_w[sl, None, None], pool_l[sl, None, None]
        cy = y_root + 0.6 * pl
        e = (dx / np.maximum(pw, 1e-3)) ** 2 + ((rows[None, :, None] - cy) / np.maximum(pl, 1e-3)) ** 2
        pool = np.clip((1.0 - e) * 3.0, 0.0, 1.0) * (pw > 0)
        boxes.add_centred("pool", fidx, x_arc[sl], y_root + 0.6 * pool_l[sl], pool_w[sl], pool_l[sl])
        r_mm = np.sqrt(dx**2 + (dyr / FORESHORTEN) ** 2) * mm_per_px
        waves = 1.0 + POOL_WAVE_AMP * osc_gain[sl, None, None] * np.sin(2 * np.pi * r_mm / POOL_WAVE_MM
                                                                         - osc_phase[sl, None, None])
        pool_val = (55.0 * glow[sl] * pool_jitter[sl] + 25.0 * arc_amp[sl])[:, None, None].astype(np.float32) * waves
        b = burn[sl, None, None]
        if np.any(b > 0):
            hy = (rows[None, :, None] - (y_root + 1.0 * pl)) / (0.45 * np.maximum(pl, 1))
            hole = np.clip((1.0 - ((dx / (0.6 * np.maximum(pw, 1))) ** 2 + hy**2)) * 3.0, 0, 1)
            pool = pool * (1.0 - 0.9 * np.minimum(b, 1.0) * hole)
            seen = (burn[sl] >= BURN_VISIBLE) & (pool_w[sl] > 0)
            boxes.add_centred("burn_through", fidx[seen], x_arc[sl][seen], y_root + pool_l[sl][seen],
                              0.6 * np.maximum(pool_w[sl][seen], 1), 0.45 * np.maximum(pool_l[sl][seen], 1))
        img = light * (1.0 - pool) + pool * pool_val
        motion |= (pool > 0.5) & pool_moves[sl, None, None]
        # the groove forms at the pool's toe and stays in the seam: every row from the arc root back
        # that the torch has passed shows the seam of its time, at the pool's edge or the bead's toe
        passed = (np.isfinite(t_x) & (rows[None, :] > y_root)) | ((rows[None, :] > y_root - 1) & (rows[None, :] <= y_root))
        t_seam = np.where(np.isfinite(t_x), t_x, times[sl, None])  # (F, H)
        toe_c = np.where(made, centre, x_arc[sl, None])  # (F, H) column of the seam's centre line
        toe = np.where(made, bead_hw, pool_w[sl, None])  # (F, H) half width px
        for ev in under:  # groove along one toe where the seam has it, its outer wall catching the arc light
            env = np.where(passed, ev.severity * event_envelope(ev, t_seam), 0.0)  # (F, H)
            half_g = 0.5 * GROOVE_WIDTH_MM / mm_per_px
            gc = (toe_c + ev.side * (toe + half_g + 0.5))[:, :, None]  # (F, H, 1) groove centre column
            groove = np.abs(cols[None, None, :] - gc) < half_g
            wall = np.abs(cols[None, None, :] - (gc + ev.side * (half_g + 0.5 * sc))) < 0.4 * sc
            e_g = np.minimum(env, 1.0)[:, :, None]
            img = img * (1.0 - 0.85 * e_g * groove) + 45.0 * e_g * amp * wall
            seen = env >= GROOVE_VISIBLE  # (F, H) rows where the groove darkens the toe visibly
            fs = seen.any(axis=1)
            if fs.any():
                g = gc[:, :, 0]
                boxes.add("undercut", fidx[fs], np.where(seen, g - half_g, np.inf).min(axis=1)[fs],
                          seen.argmax(axis=1)[fs], np.where(seen, g + half_g, -np.inf).max(axis=1)[fs],
                          h - seen[:, ::-1].argmax(axis=1)[fs])
        _splat_bead_pores(img, times[sl], scn, (bead_lo, bead_hi, freeze_s), bead_pores, y_root, pool_l[sl], mm_per_px,
                          clock, boxes, i0)
        for ev, _, counts, _ in pore_events:
            c = counts[sl]
            if c.sum() == 0:
                continue
            erng = np.random.default_rng([ev.seed, 13, i0])
            fi = np.repeat(np.arange(f), c)
            ang, rad = erng.uniform(0, 2 * np.pi, fi.size), np.sqrt(erng.uniform(0, 1, fi.size))
            px = np.round(x_arc[sl][fi] + 0.8 * pool_w[sl][fi] * rad * np.cos(ang)).astype(np.int64)
            py = np.round(y_root + 0.6 * pool_l[sl][fi] + 0.8 * pool_l[sl][fi] * rad * np.sin(ang)).astype(np.int64)
            val = np.where(erng.uniform(size=fi.size) < 0.5, -70.0, 110.0).astype(np.float32)
            side = max(2, round(2 * sc))
            dark = val < 0  # a pore opening on the pool (the bright ones are gas bursting out)
            boxes.add("pore", i0 + fi[dark], px[dark], py[dark], px[dark] + side, py[dark] + side)
            for ddx in range(side):
                for ddy in range(side):
                    ok = (px + ddx >= 0) & (px + ddx < w) & (py + ddy >= 0) & (py + ddy < h)
                    np.add.at(img, (fi[ok], py[ok] + ddy, px[ok] + ddx), val[ok])
        # electrode silhouette + hot tip, or laser plume
        if scn.process in ("GMAW", "TIG"):
            half = (2.5 if scn.process == "GMAW" else 1.5) * sc
            wire = (np.abs(dx) < half) & (rows[None, :, None] < tip[sl, None, None])
            img = np.where(wire, 6.0 + 30.0 * amp, img)
            gx = np.exp(-(dx**2) / (2 * (1.5 * sc) ** 2))
            gy = np.exp(-((rows[None, :, None] - tip[sl, None, None]) ** 2) / (2 * (1.5 * sc) ** 2))
            img = img + 200.0 * energised[sl, None, None] * gx * gy
            hot_tip = 200.0 * energised[sl, None, None] * gx * gy >= VISIBLE_GREY
            motion |= (wire | hot_tip) & tip_moves[sl, None, None]
            r_tip = glow_radius(200.0 * energised[sl], 1.5 * sc)
            boxes.add_centred("wire_tip", fidx, x_arc[sl], tip[sl], r_tip, r_tip)
            core_r = (0.8 / mm_per_px) * np.sqrt(i_rel[sl]) * (1.6 if scn.process == "TIG" else 1.0)
        else:
            gx = np.exp(-(dx**2) / (2 * (3.0 * sc) ** 2))
            gy = np.exp(-((rows[None, :, None] - (y_root - 10.0 * sc)) ** 2) / (2 * (7.0 * sc) ** 2))
            img = img + 160.0 * (plume[sl] * arc_frac[sl])[:, None, None] * gx * gy
            core_r = np.full(f, 1.2 * sc)
        r = core_r[:, None, None].astype(np.float32)
        core = np.exp(-(dx**2) / (2 * r**2)) * np.exp(-((rows[None, :, None] - y_mid[sl, None, None]) ** 2) / (2 * (1.3 * r) ** 2))
        halo = np.exp(-(dx**2 + (rows[None, :, None] - y_mid[sl, None, None]) ** 2) / (2 * (7.0 * sc) ** 2))
        img = img + amp * (600.0 * core + 45.0 * halo)
        motion |= (600.0 * amp * core >= VISIBLE_GREY) & torch_moves[sl, None, None]
        boxes.add_centred("arc", fidx, x_arc[sl], y_mid[sl], glow_radius(600.0 * arc_amp[sl], core_r),
                          glow_radius(600.0 * arc_amp[sl], 1.3 * core_r))
        img = img.astype(np.float32)
        _splat_particles(img, i0, times, rate, parts, origin, mm_per_px, boxes, motion)
        motion_bits[sl] = np.packbits(motion, axis=-1)
        frames[sl] = to_gray8(img, rng, noise_scale, rate)
    arc_xy = np.stack([x_arc, y_mid], axis=1).astype(np.float32)
    return VideoSim(frames, arc_xy, boxes.array(), motion_bits)
