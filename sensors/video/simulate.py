"""Physical simulator of a high-speed camera on the arc and weld pool (grey, 8 bit).

Camera on the travel carriage behind the torch, looking forward and down at the arc: columns run
across the joint (joint at column W/2, material ``a`` on the left, ``b`` on the right), the arc
root sits at row ``0.55 H``, the weld pool and fresh bead trail towards the camera (down the
frame) and the open joint lies ahead of the arc (up the frame). The scene per frame:

* plates of the two materials lit by the arc (their visible reflectance differs) and the open
  joint gap ahead of the pool;
* the weld pool: an ellipse sized by the molten region of the heat flow, glowing with the lagged
  heat input (it stays red-hot a moment after the arc is gone) and mirroring the arc;
* the electrode wire (GMAW) or tungsten (TIG) as a silhouette against the glare, with a hot tip;
  a laser shows a keyhole spot and a flickering metal-vapour plume instead;
* a saturating arc core whose brightness is the arc power integrated over the exposure, so it
  flickers with the short circuits (the arc is out while the wire is shorted);
* spatter particles thrown at re-ignitions, flying ballistic paths (gravity) as streaks;
* weaving moves the arc and pool sideways in the frame.

Defects: porosity (dark pores / bright gas bursts on the pool, pool jitter), burn_through (dark
hole in an enlarged pool), spatter (many more particles), undercut (dark groove along one pool
edge). Sensor: shot and read noise, 8-bit saturation. Vectorised over blocks of frames.
"""

from __future__ import annotations

import numpy as np
from weldfusion.sensors.electrical.simulate import ArcWaveforms, lag
from weldfusion.sensors.scenario import CONTROL_RATE, SPATTER_SLOTS, Scenario, event_envelope
from weldfusion.sensors.thermal.conduction import HeatFlow, absorbed_power

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
#: Rate (Hz) at which the laser plume's flicker is drawn before each exposure integrates it.
PLUME_RATE = 2000.0
#: Frame rate (Hz) at which the sensor-noise amplitudes hold (exposure ~ 1 / rate).
NOISE_REF_RATE = 250.0
#: Arc voltage = electrode falls + column field x arc length (V, V/mm).
ARC_FALLS_V = 10.5
ARC_FIELD_V_MM = 1.5
#: How long the pool keeps glowing after the power changes (s).
GLOW_LAG_S = 0.1


def _window_mean(values: np.ndarray, rate: float, starts: np.ndarray, length_s: float) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    i0 = np.clip(np.round(starts * rate).astype(np.int64), 0, values.size)
    i1 = np.clip(i0 + max(1, round(length_s * rate)), 0, values.size)
    return (c[i1] - c[i0]) / np.maximum(i1 - i0, 1)


def _particles(scn: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Spatter particles (P, 4): birth time s, direction angle rad from vertical, speed m/s, brightness 0-1."""
    rows = []
    if scn.has_short_circuits and scn.sc_start.size:
        births = scn.sc_start + scn.sc_dur  # thrown at re-ignition
        slot = np.arange(SPATTER_SLOTS)[None, :]
        use = slot < scn.sc_particles[:, None]  # (K, S)
        u = scn.sc_slots[use]  # (P, 4) uniforms
        t = np.broadcast_to(births[:, None], use.shape)[use]
        rows.append(np.stack([t, (u[:, 0] - 0.5) * np.radians(150), SPATTER_SPEED[0] + u[:, 1] * np.ptp(SPATTER_SPEED),
                              0.5 + 0.5 * u[:, 2]], axis=1))
    else:  # laser/TIG: a few ejections from the keyhole / pool
        n = rng.poisson(3.0 * max(scn.extinction_s - scn.ignition_s, 0.0))
        u = rng.uniform(size=(n, 4))
        t = scn.ignition_s + u[:, 3] * max(scn.extinction_s - scn.ignition_s, 0.0)
        rows.append(np.stack([t, (u[:, 0] - 0.5) * np.radians(150), SPATTER_SPEED[0] + u[:, 1] * np.ptp(SPATTER_SPEED),
                              0.5 + 0.5 * u[:, 2]], axis=1))
        for ev in scn.events("spatter"):
            erng = np.random.default_rng([ev.seed, 11])
            n = erng.poisson(120.0 * ev.severity * (ev.end_s - ev.start_s))
            u = erng.uniform(size=(n, 4))
            t = ev.start_s + u[:, 3] * (ev.end_s - ev.start_s)
            rows.append(np.stack([t, (u[:, 0] - 0.5) * np.radians(150), SPATTER_SPEED[0] + u[:, 1] * np.ptp(SPATTER_SPEED),
                                  0.5 + 0.5 * u[:, 2]], axis=1))
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, 4))


def _splat_particles(img: np.ndarray, i0: int, times: np.ndarray, rate: float, parts: np.ndarray,
                     origin_xy: np.ndarray, mm_per_px: float) -> None:
    """Add particle streaks to the block ``img`` (F, H, W) covering frames i0.. (in place)."""
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


def simulate(
    scn: Scenario,
    wave: ArcWaveforms,
    heat: HeatFlow,
    rate: float,
    shape: tuple[int, int] = (64, 64),
    mm_per_px: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """High-speed frames at ``rate`` Hz.

    Returns:
        frames: (N, H, W) uint8 (frame i exposed on [i / rate, (i + SHUTTER) / rate)).
        arc_xy: (N, 2) float32 arc centre (column, row) in pixels.
    """
    rng = scn.rng("video")
    h, w = shape
    n = round(scn.duration_s * rate)
    times = np.arange(n) / rate
    exposure = SHUTTER / rate
    p_nom = scn.params.current_a * scn.params.voltage_v
    arc_frac = _window_mean(wave.arc_on.astype(np.float64), wave.rate, times, exposure)  # (N,)
    # brightness: set-point arc power x share of the exposure the arc burns (flicker with the shorts)
    arc_pow = arc_frac * scn.at("voltage", times) * scn.at("current", times) / p_nom  # (N,) relative
    energised = _window_mean(wave.energised.astype(np.float64), wave.rate, times, exposure)
    half_w, length = heat.pool_at(times)
    lagged = np.interp(times, scn.t, lag(absorbed_power(scn, scn.t), GLOW_LAG_S, CONTROL_RATE))
    glow = np.clip(lagged / p_nom, 0.0, 1.6) ** 0.5  # (N,) lagged heat -> incandescence
    u_set = scn.at("voltage", times)
    i_rel = np.maximum(scn.at("current", times) / scn.params.current_a, 0.0)

    x_arc = w / 2 + scn.at("weave", times) / mm_per_px  # (N,) weaving moves the arc sideways
    y_root = ROOT_ROW * h
    arc_len = np.clip((u_set - ARC_FALLS_V) / ARC_FIELD_V_MM, 0.5, 6.0) / mm_per_px  # column above the electrode falls
    if scn.process == "laser":
        arc_len = np.full(n, 2.0)
    y_mid = y_root - 0.5 * arc_len * np.clip(arc_frac, 0.0, 1.0)
    tip = y_root - arc_len * np.clip(arc_frac / np.maximum(energised, 1e-6), 0.0, 1.0)
    pool_w = np.clip(half_w / mm_per_px, 0.0, w / 2)
    pool_l = np.clip(0.45 * length / mm_per_px, 0.0, h)  # foreshortened by the oblique view
    pool_w = np.where(pool_w > 0, np.maximum(pool_w, 2.0), 0.0)
    pool_l = np.where(pool_l > 0, np.maximum(pool_l, 2.0), 0.0)

    # defects: per-frame modifiers
    burn = scn.envelope("burn_through", times)
    under = [(ev, ev.severity * event_envelope(ev, times)) for ev in scn.events("undercut")]
    pore_events = []
    for ev in scn.events("porosity"):
        erng = np.random.default_rng([ev.seed, 12])
        env = ev.severity * event_envelope(ev, times)
        pore_events.append((ev, env, erng.poisson(8.0 * env), erng.standard_normal(n)))
    pool_jitter = np.ones(n)
    for _, env, _, jit in pore_events:
        pool_jitter *= 1.0 + 0.25 * env * jit

    plume = np.ones(n)
    if scn.process == "laser":  # metal-vapour plume fluctuates at 50-500 Hz, whatever the frame rate
        t_fine = np.arange(round(scn.duration_s * PLUME_RATE)) / PLUME_RATE
        z = rng.standard_normal(t_fine.size)
        kern = np.exp(-np.arange(32) / 8.0)  # ~4 ms correlation
        fine = np.convolve(z, kern / np.linalg.norm(kern), mode="same")
        exposure_mean = _window_mean(fine, PLUME_RATE, times, exposure)  # what one exposure integrates
        plume = np.clip(1.0 + 0.35 * exposure_mean / max(fine.std(), 1e-9), 0.2, 2.0)
        plume *= 1.0 - 0.5 * burn  # full penetration: plume partly exits at the root

    parts = _particles(scn, rng)
    origin = np.stack([x_arc, np.full(n, y_root - 2.0)], axis=1)
    mat_a, mat_b = scn.pair.a, scn.pair.b
    cols = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)
    refl = np.where(cols < w / 2, mat_a.reflectance, mat_b.reflectance).astype(np.float32)  # (W,)
    gap = (np.abs(cols - (w / 2 - 0.5)) < 1.0)[None, :] & (rows[:, None] < y_root - 3)  # (H, W) open joint ahead
    frames = np.empty((n, h, w), dtype=np.uint8)
    arc_amp = arc_pow  # arc power integrated over the exposure, relative to nominal

    for i0 in range(0, n, BLOCK):
        sl = slice(i0, min(i0 + BLOCK, n))
        f = sl.stop - sl.start
        xa = x_arc[sl, None, None].astype(np.float32)
        dx = cols[None, None, :] - xa  # (F, 1, W)
        dyr = rows[None, :, None] - np.float32(y_root)  # (1, H, 1)
        amp = arc_amp[sl, None, None].astype(np.float32)
        # plates lit by the arc (inverse-square-like fall-off) + ambient
        light = 6.0 + 90.0 * amp * refl[None, None, :] / (1.0 + (dx**2 + dyr**2) / 300.0)  # (F, H, W)
        light = light * np.where(gap[None], 0.35, 1.0).astype(np.float32)
        # weld pool: ellipse trailing from the arc root towards the camera
        pw, pl = pool_w[sl, None, None], pool_l[sl, None, None]
        cy = y_root + 0.6 * pl
        e = (dx / np.maximum(pw, 1e-3)) ** 2 + ((rows[None, :, None] - cy) / np.maximum(pl, 1e-3)) ** 2
        pool = np.clip((1.0 - e) * 3.0, 0.0, 1.0) * (pw > 0)
        pool_val = (55.0 * glow[sl] * pool_jitter[sl] + 25.0 * arc_amp[sl])[:, None, None].astype(np.float32)
        b = burn[sl, None, None]
        if np.any(b > 0):
            hy = (rows[None, :, None] - (y_root + 1.0 * pl)) / (0.45 * np.maximum(pl, 1))
            hole = np.clip((1.0 - ((dx / (0.6 * np.maximum(pw, 1))) ** 2 + hy**2)) * 3.0, 0, 1)
            pool = pool * (1.0 - 0.9 * np.minimum(b, 1.0) * hole)
        img = light * (1.0 - pool) + pool * pool_val
        for ev, env in under:  # groove along one toe of the pool / fresh bead, its outer wall catching the arc light
            gx = xa + ev.side * (pw + 2.0)
            in_rows = (rows[None, :, None] > y_root - 1) & (rows[None, :, None] < y_root + 2.6 * pl)
            groove = (np.abs(cols[None, None, :] - gx) < 2.0) & in_rows
            wall = (np.abs(cols[None, None, :] - (gx + ev.side * 2.5)) < 0.75) & in_rows
            e = np.minimum(env[sl, None, None], 1.0)
            img = img * (1.0 - 0.85 * e * groove) + 45.0 * e * amp * wall
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
            for ddx, ddy in ((0, 0), (1, 0), (0, 1), (1, 1)):
                ok = (px + ddx >= 0) & (px + ddx < w) & (py + ddy >= 0) & (py + ddy < h)
                np.add.at(img, (fi[ok], py[ok] + ddy, px[ok] + ddx), val[ok])
        # electrode silhouette + hot tip, or laser plume
        if scn.process in ("GMAW", "TIG"):
            half = 2.5 if scn.process == "GMAW" else 1.5
            wire = (np.abs(dx) < half) & (rows[None, :, None] < tip[sl, None, None])
            img = np.where(wire, 6.0 + 30.0 * amp, img)
            gx = np.exp(-(dx**2) / (2 * 1.5**2))
            gy = np.exp(-((rows[None, :, None] - tip[sl, None, None]) ** 2) / (2 * 1.5**2))
            img = img + 200.0 * energised[sl, None, None] * gx * gy
            core_r = (0.8 / mm_per_px) * np.sqrt(i_rel[sl]) * (1.6 if scn.process == "TIG" else 1.0)
        else:
            gx = np.exp(-(dx**2) / (2 * 3.0**2))
            gy = np.exp(-((rows[None, :, None] - (y_root - 10.0)) ** 2) / (2 * 7.0**2))
            img = img + 160.0 * (plume[sl] * arc_frac[sl])[:, None, None] * gx * gy
            core_r = np.full(f, 1.2)
        r = core_r[:, None, None].astype(np.float32)
        core = np.exp(-(dx**2) / (2 * r**2)) * np.exp(-((rows[None, :, None] - y_mid[sl, None, None]) ** 2) / (2 * (1.3 * r) ** 2))
        halo = np.exp(-(dx**2 + (rows[None, :, None] - y_mid[sl, None, None]) ** 2) / (2 * 7.0**2))
        img = img + amp * (600.0 * core + 45.0 * halo)
        img = img.astype(np.float32)
        _splat_particles(img, i0, times, rate, parts, origin, mm_per_px)
        # sensor: shot noise ~ sqrt(signal), read noise, 8-bit; the exposure shrinks as 1 / rate, the
        # gain that keeps the image bright grows with it, and so does the noise per frame
        noise = rng.standard_normal(img.shape, dtype=np.float32)
        img += noise * np.sqrt(0.6 * np.maximum(img, 0.0) + 2.0) * np.float32(np.sqrt(rate / NOISE_REF_RATE))
        frames[sl] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    arc_xy = np.stack([x_arc, y_mid], axis=1).astype(np.float32)
    return frames, arc_xy
