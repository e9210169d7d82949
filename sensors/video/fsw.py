"""The high-speed camera on a friction stir weld (grey, 8 bit): the rotating tool, the stirred bead behind it, flash.

Same camera as on an arc (:mod:`.simulate`: on the carriage behind the tool, looking forward and
down; joint at column W/2, material a on the left, the tool axis at row ``0.55 H``, the bead trailing
down the frame, every size in mm), but nothing glows — FSW stays below the solidus — so the scene is
lit by the cell's ring light:

* the plates (their visible reflectance) with the tight butt line ahead of the tool;
* the tool: the shank as a dark steel cylinder from the top of the frame to the shoulder, with the
  specular stripe of its flats sweeping across it at the rotation frequency (averaged over the
  exposure: at 1000 1/min and a 2 ms exposure a frame keeps most of it), and the shoulder's rim as a
  foreshortened ellipse on the plate; before the plunge and after the retract the tool stands above
  the plate (drawn higher up the frame); after the retract the exit hole of the pin stays behind;
* the stirred bead, as wide as the shoulder, a little darker than the plates, with the tool's
  semicircular "onion ring" marks at the pitch of one revolution's travel (a pixel averages over
  the marks finer than itself) and a bright lip at both edges;
* imperfections that show on the surface, bound to the seam segment where they formed and
  scrolling down the frame with it: ``flash`` (bright irregular ribbons of expelled metal outside
  the retreating-side edge, side a), ``galling`` (torn, dark streaks across the bead). A tunnel or a
  kissing bond lies inside the joint and leaves the surface as it is (the machine data and the
  microphone see those).

Ground truth: the tool axis as ``arc_xy`` (the attribution target), no boxes (the box classes are
the arc processes', :mod:`weldfusion.sensors.boxes`), the tool's rotating shank as motion.
"""

from __future__ import annotations

import numpy as np
from weldfusion.sensors.scenario import Scenario, event_envelope
from weldfusion.sensors.video.frame_rules import passage_clock, seam_behind, to_gray8

#: Ring-light grey level on a plate of reflectance 1, ambient grey level.
RING_LIGHT, AMBIENT = 90.0, 12.0
#: Tool steel grey level, the flats' specular stripe (grey levels at full exposure gain).
TOOL_GREY, STRIPE_GREY = 35.0, 80.0
#: Bead darkening against the plates, lip brightening, onion-ring contrast.
BEAD_SHADE, LIP_GAIN, RING_CONTRAST = 0.6, 1.5, 0.25
#: Flash ribbon width range (mm) and brightness gain; galling streak darkening.
FLASH_MM, FLASH_GAIN, GALL_DARK = (1.0, 2.5), 1.6, 0.55
#: How far up the frame the tool stands before the plunge / after the retract (mm above its seat).
LIFT_MM = 4.0


def _seam_segments(scn: Scenario, label: str, seam_x: np.ndarray, clock: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Severity-weighted 0..1 presence (same shape as ``seam_x`` mm) of ``label`` at each seam point:
    the imperfection's envelope at the time the tool passed there (0 where the tool never was);
    ``clock`` from :func:`.frame_rules.passage_clock`."""
    out = np.zeros(seam_x.shape)
    xs, t_first = clock
    if xs.size < 2:
        return out
    t_pass = np.interp(seam_x, xs, t_first)
    inside = (seam_x >= xs[0]) & (seam_x <= xs[-1])
    for ev in scn.events(label):
        out = np.maximum(out, np.where(inside, ev.severity * event_envelope(ev, t_pass), 0.0))
    return np.minimum(out, 1.0)


def render(scn: Scenario, rate: float, shape: tuple[int, int], mm_per_px: float, noise_scale: float,
           rng: np.random.Generator, shutter: float, root_row: float, foreshorten: float,
           block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FSW frames (N, H, W) uint8, tool axis (N, 2) float32 (column, row) px and packed motion truth
    (N, H, ceil(W / 8)) uint8 at ``rate`` Hz (the camera geometry from :mod:`.simulate`, the seam view
    and the sensor from :mod:`.frame_rules`)."""
    p = scn.params
    h, w = shape
    n = round(scn.duration_s * rate)
    times = np.arange(n) / rate
    exposure = shutter / rate
    t_mid = times + 0.5 * exposure
    y_root = root_row * h
    full = p.pin_length_mm + p.shoulder_plunge_mm
    depth = scn.at("tool_depth", t_mid)
    lift_px = np.clip(full - depth, 0.0, LIFT_MM) / full * LIFT_MM * foreshorten / mm_per_px  # (N,)
    x_tool = w / 2 + scn.at("weave", times) / mm_per_px
    y_seat = y_root - lift_px  # shoulder rim row
    rs_x = p.shoulder_radius_mm / mm_per_px
    rs_y = p.shoulder_radius_mm * foreshorten / mm_per_px
    # rotation: the flats' stripe sweeps the shank once per revolution, blurred over the exposure
    rev_t = np.cumsum(scn.spindle_rpm / 60.0) / 1000.0  # revolutions on the 1 kHz control grid
    rev = np.interp(t_mid, scn.t, rev_t) + rng.uniform()
    per_exposure = np.interp(t_mid, scn.t, scn.spindle_rpm) / 60.0 * exposure
    stripe_gain = np.abs(np.sinc(per_exposure))
    stripe_col = 0.7 * rs_x * np.sin(2 * np.pi * rev)  # (N,) px from the axis
    spinning = np.interp(t_mid, scn.t, scn.spindle_rpm) > 1.0
    pitch = p.traverse_mm_s / (p.spindle_rpm / 60.0)  # mm of travel per revolution (nominal)
    ring_gain = float(np.sinc(mm_per_px / foreshorten / pitch))  # what a pixel keeps of the marks

    cols = np.arange(w, dtype=np.float64)
    rows = np.arange(h, dtype=np.float64)
    refl = np.where(cols < w / 2, scn.pair.a.reflectance, scn.pair.b.reflectance)  # (W,)
    plate = AMBIENT + RING_LIGHT * refl  # (W,)
    butt = (np.abs(cols - (w / 2 - 0.5)) < 0.5)[None, :] & (rows[:, None] < y_root - rs_y)
    behind_mm = np.maximum(rows - y_root, 0.0) * mm_per_px / foreshorten  # (H,)
    clock = passage_clock(scn)  # once per run, not per block
    x_end = float(scn.torch_x[-1])
    t_lift = scn.extinction_s
    flash_rng = np.random.default_rng([*scn.entropy, 77])
    flash_width = flash_rng.uniform(*FLASH_MM, size=4096)  # ribbon width (mm) per 0.25 mm of seam
    gall_phase = flash_rng.uniform(0, 1, size=4096)
    frames = np.empty((n, h, w), dtype=np.uint8)
    motion_bits = np.zeros((n, h, -(-w // 8)), dtype=np.uint8)
    for i0 in range(0, n, block):
        sl = slice(i0, min(i0 + block, n))
        tt = times[sl]
        x_now = np.interp(tt, scn.t, scn.torch_x)  # (F,)
        seam_x, t_x = seam_behind(scn, tt, behind_mm, clock)  # (F, H) seam point each row shows, when made
        passed = np.isfinite(t_x) & (rows[None, :] > y_root)
        t_x = np.nan_to_num(t_x, nan=0.0)  # where the tool never was: masked by `passed`
        made = passed & (t_x >= scn.ignition_s) & (seam_x <= x_end) & ((rows[None, :] > y_root + rs_y) | (tt[:, None] > t_lift))
        centre = w / 2 + np.interp(t_x, scn.t, scn.weave) / mm_per_px  # (F, H) bead centre column
        img = np.broadcast_to(plate[None, None, :], (tt.size, h, w)).copy()
        img[:, butt] *= 0.55
        u = (cols[None, None, :] - centre[:, :, None]) / rs_x  # (F, H, W) across the bead, -1..1
        inside = (np.abs(u) <= 1.0) & made[:, :, None]
        arc_mm = p.shoulder_radius_mm * (1.0 - np.sqrt(np.clip(1.0 - u**2, 0.0, 1.0)))  # semicircular marks
        rings = 1.0 + RING_CONTRAST * ring_gain * np.cos(2 * np.pi * (seam_x[:, :, None] + arc_mm) / pitch)
        lip = 1.0 + (LIP_GAIN - 1.0) * np.exp(-((np.abs(u) - 1.0) * rs_x / 0.8) ** 2)
        bead_grey = (AMBIENT + RING_LIGHT * 0.5 * (scn.pair.a.reflectance + scn.pair.b.reflectance) * BEAD_SHADE)
        img = np.where(inside, bead_grey * rings * lip, img)
        # imperfections bound to the seam
        flash = _seam_segments(scn, "flash", seam_x, clock) * made  # (F, H)
        if flash.any():
            k = np.clip((seam_x / 0.25).astype(np.int64) % flash_width.size, 0, flash_width.size - 1)
            width = flash_width[k] * flash / mm_per_px  # (F, H) px, on the retreating side (a: left)
            out_d = (centre - rs_x)[:, :, None] - cols[None, None, :]  # px outside the left edge
            ribbon = (out_d > -0.5) & (out_d < width[:, :, None]) & (flash[:, :, None] > 0.05)
            img = np.where(ribbon, np.minimum(plate[None, None, :] * FLASH_GAIN, 255.0), img)
        gall = _seam_segments(scn, "galling", seam_x, clock) * made
        if gall.any():
            k = np.clip((seam_x / 0.25).astype(np.int64) % gall_phase.size, 0, gall_phase.size - 1)
            torn = (gall_phase[k] < 0.45 * gall)[:, :, None] & inside
            img = np.where(torn, img * GALL_DARK, img)
        # exit hole once the tool has left
        hole_dy = (rows[None, :, None] - (y_root + (x_now[:, None, None] - x_end) * foreshorten / mm_per_px))
        hole_dx = cols[None, None, :] - (w / 2 + scn.weave[-1] / mm_per_px)
        hole = ((hole_dx / (p.pin_radius_mm / mm_per_px)) ** 2 + (hole_dy / (p.pin_radius_mm * foreshorten / mm_per_px)) ** 2
                <= 1.0) & (tt[:, None, None] > t_lift)
        img = np.where(hole, AMBIENT, img)
        # the tool: shank above the shoulder rim, the flats' stripe, the rim ellipse
        dx = cols[None, None, :] - x_tool[sl, None, None]
        shank = (np.abs(dx) < 0.8 * rs_x) & (rows[None, :, None] < y_seat[sl, None, None])
        stripe = np.exp(-((dx - stripe_col[sl, None, None]) ** 2) / (2 * (0.12 * rs_x + 0.5) ** 2))
        tool = TOOL_GREY + STRIPE_GREY * stripe_gain[sl, None, None] * stripe
        rim = (dx / rs_x) ** 2 + ((rows[None, :, None] - y_seat[sl, None, None]) / max(rs_y, 1.0)) ** 2 <= 1.0
        img = np.where(rim, TOOL_GREY * 0.8, img)
        img = np.where(shank, tool, img)
        moving = (shank | rim) & (spinning[sl, None, None] & (stripe_gain[sl, None, None] > 0.1))
        motion_bits[sl] = np.packbits(moving & shank, axis=-1)
        frames[sl] = to_gray8(img.astype(np.float32), rng, noise_scale, rate)
    arc_xy = np.stack([x_tool, y_seat], axis=1).astype(np.float32)
    return frames, arc_xy, motion_bits
