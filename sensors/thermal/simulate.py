"""Physical simulator of a radiometric IR camera looking at a dissimilar butt joint.

The temperature field is the transient heat flow of :mod:`.conduction`: one plate of the two
materials, continuous across the joint, the torch's absorbed power ``eta U I`` as a moving
Gaussian, convection and radiation losses, latent heat and the boiling cap. The camera (on the
travel carriage) samples that field at its own frame times through its own optics:

* apparent temperature through the emissivity (``eps T^4 + (1 - eps) T_amb^4``, camera emissivity
  set to 1; the pool's liquid emissivity where the metal is molten);
* residual arc (plume) glare behind the band filter, a lens blur of :data:`PSF_SIGMA_PX`, a
  calibrated range, fixed-pattern and temporal noise.

Camera frame: columns = travel direction (source at column ``0.72 W``, travel to the right),
rows = across the joint (joint between rows H/2 - 1 and H/2; material a in the top rows).
Defect signatures: lack_of_fusion (the joint face does not fuse: heat does not cross to side b,
in the heat flow), burn_through (more power, then a cold hole just behind the source), crack
(cold line growing along the fusion boundary behind the pool), undercut (bright line along one
bead toe).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter1d, uniform_filter1d
from weldfusion.sensors.boxes import BoxList
from weldfusion.sensors.scenario import (
    CONTROL_RATE,
    DefectEvent,
    Scenario,
    event_envelope,
)
from weldfusion.sensors.thermal.conduction import CameraView, HeatFlow, solve_heat_flow

#: Camera calibrated range (degC).
CAMERA_RANGE_C = (0.0, 1500.0)
#: Optics: Gaussian blur of the lens (1 sigma, pixels).
PSF_SIGMA_PX = 0.5
#: Frame rate (Hz) at which the temporal noise amplitudes hold (integration time ~ 1 / rate).
NOISE_REF_RATE = 50.0
#: Source column as a share of the frame width.
SOURCE_COLUMN = 0.72
#: Ground-truth boxes: the pool is where the melt fraction exceeds this; the burn-through hole
#: where the frame is pulled this far towards the backing temperature; a crack / undercut line
#: where its relative contrast reaches this.
POOL_MELT = 0.5
HOLE_VISIBLE = 0.2
LINE_VISIBLE = 0.1
#: FSW: the tool's shoulder hides the plate under it; the camera sees the tool steel (emissivity of
#: oxidised H13) at this share of the plate's temperature rise under it.
TOOL_EMISSIVITY, TOOL_SHARE = 0.6, 0.8


def camera_view(times: np.ndarray, shape: tuple[int, int], pixel_mm: float) -> CameraView:
    """Pixel positions of a (H, W) camera at ``times``: columns along travel around the source, rows across."""
    h, w = shape
    xi = (np.arange(w) - round(SOURCE_COLUMN * w)) * pixel_mm  # (W,) mm ahead of the source
    y = (np.arange(h) + 0.5 - h / 2) * pixel_mm  # (H,) mm across the joint
    return CameraView(np.asarray(times, dtype=np.float64), xi, y, float(pixel_mm))


def heat_flow(scn: Scenario, rate: float, shape: tuple[int, int] = (40, 64), pixel_mm: float = 0.8) -> HeatFlow:
    """Solve the run's heat flow with the IR camera's frames (``rate`` Hz, ``shape``, ``pixel_mm``) sampled.

    The solver's grid is half a camera pixel (at most 0.5 mm) and reaches past the camera's view.
    """
    n = round(scn.duration_s * rate)
    view = camera_view(np.arange(n) / rate, shape, pixel_mm)
    dx = float(np.clip(pixel_mm / 2, 0.1, 0.5))
    behind = -view.xi[0] + 8.0
    ahead = view.xi[-1] + 10.0
    fine = max(abs(view.y).max() + 4.0, 8.0)
    return solve_heat_flow(scn, view, dx=dx, behind_mm=behind, ahead_mm=ahead, fine_half_mm=fine)


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
    heat: HeatFlow,
    rate: float,
    shape: tuple[int, int] = (40, 64),
    pixel_mm: float = 0.8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IR frames at ``rate`` Hz from the solved ``heat`` (:func:`heat_flow` with the same camera).

    Returns:
        frames: (N, H, W) float32 apparent temperature in degC (frame i at i / rate s).
        source_xy: (N, 2) float32 heat-source position (column, row) in pixels.
        boxes: (K, 6) float32 ``[frame, class, x0, y0, x1, y1]`` of the molten pool, the
            burn-through hole, the crack line and the undercut line where visible (:mod:`weldfusion.sensors.boxes`).
    """
    rng = scn.rng("thermal")
    h, w = shape
    n = round(scn.duration_s * rate)
    got = None if heat.frames_c is None else heat.frames_c.shape
    if got != (n, h, w):
        raise ValueError(f"heat flow was sampled for another camera ({got}, need {(n, h, w)})")
    times = np.arange(n) / rate
    view = camera_view(times, shape, pixel_mm)
    xi, y = view.xi, view.y
    col_src = round(SOURCE_COLUMN * w)
    y_s = scn.at("weave", times)
    t0 = scn.pair.preheat_c
    t_amb_k4 = (25.0 + 273.15) ** 4
    side_b = (y >= 0)[None, :, None]
    mat_a, mat_b = scn.pair.a, scn.pair.b
    eps_s = np.where(side_b, mat_b.emissivity, mat_a.emissivity)
    eps_l = np.where(side_b, mat_b.emissivity_liquid, mat_a.emissivity_liquid)
    eps = eps_s + (eps_l - eps_s) * heat.melt
    radiance = eps * (heat.frames_c.astype(np.float64) + 273.15) ** 4 + (1.0 - eps) * t_amb_k4

    if scn.is_fsw:  # the tool covers the plate under its shoulder; the camera sees the tool steel
        rs = scn.params.shoulder_radius_mm
        under = (xi[None, None, :] ** 2 + (y[None, :, None] - y_s[:, None, None]) ** 2 <= rs**2)  # (N, H, W)
        t_tool = t0 + TOOL_SHARE * (heat.frames_c.astype(np.float64) - t0)
        tool = TOOL_EMISSIVITY * (t_tool + 273.15) ** 4 + (1.0 - TOOL_EMISSIVITY) * t_amb_k4
        radiance = np.where(under & (scn.at("tool_depth", times) > 0)[:, None, None], tool, radiance)
    # residual arc / plume light behind the camera's band filter, averaged over the frame (no arc in FSW)
    glare = scn.at("voltage", times) * scn.at("current", times) * scn.at("arc", times) / scn.nominal_power_w  # (N,)
    glare_sigma = 1.5 if scn.process != "laser" else 0.8
    glare_k4 = (2300.0 if scn.process != "laser" else 1600.0) ** 4
    dy = y[None, :, None] - y_s[:, None, None]
    radiance += glare_k4 * glare[:, None, None] * np.exp(-(xi[None, None, :] ** 2 + dy**2) / (2 * glare_sigma**2))
    radiance = gaussian_filter(radiance, sigma=(0.0, PSF_SIGMA_PX, PSF_SIGMA_PX), mode="nearest")
    frames = (radiance**0.25 - 273.15).astype(np.float32)
    boxes = BoxList((h, w))
    boxes.add_masks("pool", np.arange(n), heat.melt > POOL_MELT)

    # burn_through: cold hole just behind the source (looking through the plate at the backing)
    for ev in scn.events("burn_through"):
        env = ev.severity * event_envelope(ev, times)
        act = env > 0
        if act.any():
            dy = y[None, :, None] - y_s[act, None, None]
            hole = np.exp(-((((xi[None, None, :] + 2.5) / 1.6) ** 2 + (dy / 1.0) ** 2) ** 2))
            k = np.minimum(0.9 * env[act, None, None] * hole, 0.95)
            frames[act] = (frames[act] * (1 - k) + (t0 + 30.0) * k).astype(np.float32)
            boxes.add_masks("burn_through", np.flatnonzero(act), k >= HOLE_VISIBLE)

    # crack (cold centre line) and undercut (bright toe line) grow behind the pool
    half_w, length = heat.pool_at(times)
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
            seen = np.abs(strength[fi, ci]) >= LINE_VISIBLE  # the line's own pixels, where it shows
            mask = np.zeros((int(on.sum()), h, w), dtype=bool)
            mask[fi[seen], rows[fi, ci][seen], ci[seen]] = True
            boxes.add_masks(label, np.flatnonzero(on), mask)
            # the line itself and its thermal shadow on the next rows outwards
            outward = 1 if (label == "crack" or ev.side > 0) else -1
            for drow, share in rows_share:
                r = np.clip(rows[fi, ci] + outward * drow, 0, h - 1)
                cur = frames[fidx, r, ci]
                frames[fidx, r, ci] = (t0 + (cur - t0) * (1.0 + share * strength[fi, ci])).astype(np.float32)

    # camera: fixed pattern, temporal noise growing with signal, calibrated range
    # temporal noise per frame grows as the integration time (~1 / rate) shrinks: NETD ~ sqrt(rate)
    noise_scale = np.sqrt(rate / NOISE_REF_RATE)
    fpn = rng.normal(0.0, 0.4, size=(h, w)) + rng.normal(0.0, 0.2, size=(1, w))
    for i0 in range(0, n, 128):
        block = frames[i0 : i0 + 128]
        noise = rng.standard_normal(block.shape, dtype=np.float32) * np.float32(noise_scale)
        block += (fpn + (0.1 + 0.002 * np.abs(block - 25.0)) * noise).astype(np.float32)
        np.clip(block, *CAMERA_RANGE_C, out=block)
    rows_src = h / 2 - 0.5 + y_s / pixel_mm
    source_xy = np.stack([np.full(n, float(col_src)), rows_src], axis=1).astype(np.float32)
    return frames, source_xy, boxes.array()


