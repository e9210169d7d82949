"""Physical simulator of a radiometric IR camera looking at a dissimilar butt joint.

Heat source: the absorbed power ``q = eta * U_set * I_set`` (set-point arc power, beam power for
laser; the plate integrates over many short-circuit cycles) moves along the joint at the travel
speed. The temperature rise is the quasi-steady moving point-source solution, per
plate half with that half's own conductivity ``k`` and diffusivity ``a``:

* thin plate (Rosenthal 2-D with Rykalin's surface-loss term ``b``)::

      dT = q / (2 pi k d) * exp(-v xi / 2a) * K0(r * sqrt((v / 2a)^2 + b / a))

* thick plate (Rosenthal 3-D)::

      dT = q / (2 pi k R) * exp(-v (xi + R) / 2a)

with ``xi`` the distance ahead of the source, ``r``/``R`` the distance to it, regularised by the
arc (beam) radius. Each half receives a share of the power set by the lateral torch position
(weaving, offset), and responds with a first-order lag of time constant ``(1.5 mm)^2 / a``
(0.05-0.3 s),
which also cools the field after the arc is gone. Material ``a`` fills the rows y < 0 and ``b``
the rows y > 0, so the field is asymmetric. The molten region is capped near its melting point.
The camera sees apparent temperature through the emissivity (``eps T^4 + (1 - eps) T_amb^4``,
camera emissivity set to 1), plus arc glare, a calibrated range, fixed-pattern and temporal noise.

Camera frame: mounted on the travel carriage; columns = travel direction (source at column
``0.72 W``, travel to the right), rows = across the joint (joint between rows H/2 - 1 and H/2).
Defect signatures: lack_of_fusion (side b starved of heat), burn_through (hotter pool, then a cold
hole just behind the source), crack (cold line growing along the fusion boundary behind the pool),
undercut (bright line along one bead toe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import lfilter
from scipy.special import k0e
from weldfusion.sensors.electrical.physics import process_efficiency
from weldfusion.sensors.materials import Material
from weldfusion.sensors.scenario import (
    CONTROL_RATE,
    DefectEvent,
    Scenario,
    event_envelope,
)

#: Arc / beam radius regularising the point source (mm).
SOURCE_RADIUS_MM = {"GMAW": 1.5, "TIG": 1.5, "laser": 0.4}
#: Lateral distance over which the power share moves from one half to the other (mm).
SHARE_WIDTH_MM = 3.0
#: Length scale of the first-order thermal lag tau = L^2 / a (mm), and the lag limits (s).
LAG_LENGTH_MM = 1.5
LAG_LIMITS_S = (0.05, 0.3)
#: The molten pool is shown at most this far above the melting point (K).
SUPERHEAT_K = 300.0
#: Camera calibrated range (degC).
CAMERA_RANGE_C = (0.0, 1500.0)


@dataclass
class HeatState:
    """Heat source seen at ``times`` (n,): lagged absorbed power into each half (W), travel speed
    (mm/s, >= 1) and lateral source position ``y_s`` (mm, + towards b)."""

    times: np.ndarray
    q_a: np.ndarray
    q_b: np.ndarray
    v: np.ndarray
    y_s: np.ndarray


def _lag(x: np.ndarray, tau_s: float, rate: float) -> np.ndarray:
    alpha = 1.0 - np.exp(-1.0 / (tau_s * rate))
    return lfilter([alpha], [1.0, alpha - 1.0], x)


def lag_time(material: Material) -> float:
    """First-order response time of a plate half (s)."""
    return float(np.clip(LAG_LENGTH_MM**2 / material.diffusivity_mm2_s, *LAG_LIMITS_S))


def heat_state(scn: Scenario, times: np.ndarray, fusion: bool = True) -> HeatState:
    """Absorbed power per half, travel speed and source position at ``times`` (s).

    The absorbed power is ``eta`` times the set-point arc power: the plate integrates over many
    short-circuit cycles (and the energy of violent short circuits leaves with the spatter).

    ``fusion=False`` leaves out lack_of_fusion (heat blocked at the unfused side wall below the
    surface): what shapes the visible surface pool.
    """
    m = scn.t.size
    power = scn.voltage * scn.current * scn.arc  # (M,) W
    q = process_efficiency(scn.process) * power
    q = q * (1.0 + 0.25 * scn.envelope("burn_through", scn.t))
    lof = scn.envelope("lack_of_fusion", scn.t) if fusion else np.zeros(m)
    share_a = np.clip(0.5 - scn.weave / (2.0 * SHARE_WIDTH_MM), 0.15, 0.85)
    q_a = 2.0 * q * share_a * (1.0 + 0.10 * lof)
    q_b = 2.0 * q * (1.0 - share_a) * (1.0 - 0.55 * lof)
    q_a = _lag(q_a, lag_time(scn.pair.a), CONTROL_RATE)
    q_b = _lag(q_b, lag_time(scn.pair.b), CONTROL_RATE)
    v = np.maximum(_lag(scn.travel, 0.3, CONTROL_RATE), 1.0)
    return HeatState(
        times=np.asarray(times, dtype=np.float64),
        q_a=np.interp(times, scn.t, q_a),
        q_b=np.interp(times, scn.t, q_b),
        v=np.interp(times, scn.t, v),
        y_s=np.interp(times, scn.t, scn.weave),
    )


def temperature_rise(scn: Scenario, material: Material, q, v, xi, dy) -> np.ndarray:
    """Quasi-steady temperature rise (K) of one plate half; arguments broadcast.

    Args:
        q: power into this half as if it filled the plane (W).  v: travel speed (mm/s).
        xi: distance ahead of the source along travel (mm).  dy: lateral distance (mm).
    """
    k = material.conductivity_w_mm_k
    a = material.diffusivity_mm2_s
    r0 = SOURCE_RADIUS_MM[scn.process]
    r = np.sqrt(xi * xi + dy * dy + r0 * r0)
    if scn.pair.thin_plate:
        lam = np.sqrt((v / (2 * a)) ** 2 + scn.pair.heat_loss_per_s / a)
        d = scn.pair.thickness_mm
        return q / (2 * np.pi * k * d) * k0e(r * lam) * np.exp(-v * xi / (2 * a) - r * lam)
    return q / (2 * np.pi * k * r) * np.exp(-v * (xi + r) / (2 * a))


def pool_geometry(scn: Scenario, state: HeatState) -> tuple[np.ndarray, np.ndarray]:
    """Molten pool half width and length behind the source (mm), (n,) each, from the melt isotherms."""
    t0 = scn.pair.preheat_c
    lat = np.linspace(0.0, 10.0, 41)[None, :]  # (1, 41) mm
    back = np.linspace(0.0, 30.0, 61)[None, :]  # (1, 61) mm
    widths, lengths = [], []
    for mat, q, sign in ((scn.pair.a, state.q_a, -1.0), (scn.pair.b, state.q_b, 1.0)):
        dtm = mat.melting_point_c - t0
        q_, v_, ys = q[:, None], state.v[:, None], state.y_s[:, None]
        # across: points of this half at the source's travel position
        y = ys + sign * lat
        on_side = (y * sign) >= 0
        wide = (temperature_rise(scn, mat, q_, v_, -0.5, y - ys) > dtm) & on_side
        widths.append(np.where(wide.any(1), lat[0, np.maximum(wide.sum(1) - 1, 0)], 0.0))
        longv = temperature_rise(scn, mat, q_, v_, -back, 0.0) > dtm
        lengths.append(np.where(longv.any(1), back[0, np.maximum(longv.sum(1) - 1, 0)], 0.0))
    return 0.5 * (widths[0] + widths[1]), np.maximum(lengths[0], lengths[1])


def _line_rows(
    scn: Scenario, ev: DefectEvent, t_frames: np.ndarray, xi: np.ndarray, px: float, h: int, tail_mm: float,
    y_track: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A line defect (crack, undercut) forms ``tail_mm`` behind the source while the event lasts, at
    the lateral position ``y_track`` (M,) mm had when the torch passed. Per (frame, column): row
    index (N, W), age of that bit of line (s) and whether it exists and is in view; None if the
    torch did not move."""
    sel = (scn.t >= ev.start_s) & (scn.t <= ev.end_s) & (scn.travel > 0.05)
    if sel.sum() < 2:
        return None
    tx, tt = scn.torch_x[sel], scn.t[sel]
    keep = np.concatenate([[True], np.diff(tx) > 1e-9])
    tx, tt = tx[keep], tt[keep]
    x_world = np.interp(t_frames, scn.t, scn.torch_x)[:, None] + xi[None, :]  # (N, W) mm
    x_form = x_world + tail_mm  # where the torch was when this bit of the line formed
    tau = np.interp(x_form, tx, tt)
    valid = (x_form >= tx[0]) & (x_form <= tx[-1]) & (tau <= t_frames[:, None])
    age = t_frames[:, None] - tau
    y_line = np.interp(tau, scn.t, y_track)
    rows = np.round(y_line / px + h / 2 - 0.5).astype(np.int64)
    valid &= (rows >= 0) & (rows < h)
    return rows, age, valid


def simulate(
    scn: Scenario,
    rate: float,
    shape: tuple[int, int] = (40, 64),
    pixel_mm: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """IR frames at ``rate`` Hz.

    Returns:
        frames: (N, H, W) float32 apparent temperature in degC (frame i at i / rate s).
        source_xy: (N, 2) float32 heat-source position (column, row) in pixels.
    """
    rng = scn.rng("thermal")
    h, w = shape
    n = round(scn.duration_s * rate)
    times = np.arange(n) / rate
    st = heat_state(scn, times)
    col_src = round(0.72 * w)
    xi = (np.arange(w) - col_src) * pixel_mm  # (W,) mm
    y = (np.arange(h) + 0.5 - h / 2) * pixel_mm  # (H,) mm
    t0 = scn.pair.preheat_c
    t_amb_k4 = (25.0 + 273.15) ** 4
    frames = np.empty((n, h, w), dtype=np.float32)

    # arc / plume glare, as apparent radiance added at the source
    p_nom = scn.params.current_a * scn.params.voltage_v
    # residual arc light behind the camera's band filter, averaged over the frame (no short-circuit flicker)
    glare = scn.at("voltage", times) * scn.at("current", times) * scn.at("arc", times) / p_nom  # (N,)
    glare_sigma = 1.5 if scn.process != "laser" else 0.8
    glare_k4 = (2300.0 if scn.process != "laser" else 1600.0) ** 4

    for mat, q, rows in ((scn.pair.a, st.q_a, y < 0), (scn.pair.b, st.q_b, y >= 0)):  # side a, side b
        dy = y[rows][None, :, None] - st.y_s[:, None, None]  # (N, h_side, 1)
        rise = temperature_rise(scn, mat, q[:, None, None], st.v[:, None, None], xi[None, None, :], dy)
        temp = t0 + rise
        molten = temp > mat.melting_point_c
        temp = np.where(molten, mat.melting_point_c + SUPERHEAT_K * np.tanh((temp - mat.melting_point_c) / (2 * SUPERHEAT_K)), temp)
        eps = np.where(molten, mat.emissivity_liquid, mat.emissivity)
        radiance = eps * (temp + 273.15) ** 4 + (1.0 - eps) * t_amb_k4
        radiance += glare_k4 * glare[:, None, None] * np.exp(-(xi[None, None, :] ** 2 + dy**2) / (2 * glare_sigma**2))
        frames[:, rows, :] = (radiance**0.25 - 273.15).astype(np.float32)

    # burn_through: cold hole just behind the source (looking through the plate at the backing)
    for ev in scn.events("burn_through"):
        env = ev.severity * event_envelope(ev, times)
        act = env > 0
        if act.any():
            dy = y[None, :, None] - st.y_s[act, None, None]
            hole = np.exp(-((((xi[None, None, :] + 2.5) / 1.6) ** 2 + (dy / 1.0) ** 2) ** 2))
            k = np.minimum(0.9 * env[act, None, None] * hole, 0.95)
            frames[act] = (frames[act] * (1 - k) + (t0 + 30.0) * k).astype(np.float32)

    # crack (cold centre line) and undercut (bright toe line) grow behind the pool
    half_w, length = pool_geometry(scn, st)
    for label, gain, rows_share in (("crack", -0.6, ((0, 1.0), (1, 1.0), (2, 0.4))), ("undercut", 0.8, ((0, 1.0), (1, 0.7)))):
        for ev in scn.events(label):
            on = (times >= ev.start_s) & (times < ev.end_s + 1.0)
            if not on.any():
                continue
            during = (times >= ev.start_s) & (times < ev.end_s)
            tail = float(np.mean(length[during])) if during.any() else 3.0
            if label == "crack":  # along the fusion boundary on side b, where the brittle intermetallics sit
                track = np.full(scn.t.size, 1.5 * pixel_mm)
            else:  # along one toe of the bead: bead centre +- (pool half width + weave spread)
                centre = uniform_filter1d(scn.weave, size=int(0.5 * CONTROL_RATE), mode="nearest")
                spread = maximum_filter1d(np.abs(scn.weave - centre), size=int(0.5 * CONTROL_RATE), mode="nearest")
                hw = float(np.mean(half_w[during])) if during.any() else 1.0
                track = centre + ev.side * (hw + spread + 0.6)
            lines = _line_rows(scn, ev, times[on], xi, pixel_mm, h, 0.3 * tail + 0.5, track)
            if lines is None:
                continue
            rows, age, valid = lines
            # contrast fades with the age of the line and once it stops growing (the gap no longer opens)
            after = np.clip(times[on] - ev.end_s, 0.0, None)[:, None]
            strength = gain * ev.severity * np.exp(-np.clip(age, 0, None) / 0.6 - after / 0.2) * valid
            fi, ci = np.nonzero(valid)
            fidx = np.nonzero(on)[0][fi]
            # the line itself and its thermal shadow on the next rows outwards
            outward = 1 if (label == "crack" or ev.side > 0) else -1
            for drow, share in rows_share:
                r = np.clip(rows[fi, ci] + outward * drow, 0, h - 1)
                cur = frames[fidx, r, ci]
                frames[fidx, r, ci] = (t0 + (cur - t0) * (1.0 + share * strength[fi, ci])).astype(np.float32)

    # camera: fixed pattern, temporal noise growing with signal, calibrated range
    fpn = rng.normal(0.0, 0.4, size=(h, w)) + rng.normal(0.0, 0.2, size=(1, w))
    for i0 in range(0, n, 128):
        block = frames[i0 : i0 + 128]
        noise = rng.standard_normal(block.shape, dtype=np.float32)
        block += (fpn + (0.1 + 0.002 * np.abs(block - 25.0)) * noise).astype(np.float32)
        np.clip(block, *CAMERA_RANGE_C, out=block)
    rows_src = h / 2 - 0.5 + st.y_s / pixel_mm
    source_xy = np.stack([np.full(n, float(col_src)), rows_src], axis=1).astype(np.float32)
    return frames, source_xy


