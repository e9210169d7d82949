"""Transient heat flow in one plate made of two materials: the simulator's thermal ground truth.

Model (thickness-averaged plate, finite volumes; units mm, s, W, J, K)::

    rho c d dT/dt = div(k d grad T) + q(x, y, t) - 2 h (T - T_amb) - 2 eps sigma (T^4 - T_amb^4)

on one plate of thickness ``d`` whose half ``y < 0`` is material a and ``y > 0`` material b. The
joint ``y = 0`` is a cell face whose conductance is the series value of the two half cells, so
temperature and heat flux are continuous across it; where the joint did not fuse
(lack_of_fusion), the face keeps only :data:`UNFUSED_CONDUCTANCE` of it. The source is a Gaussian
of radius :data:`SOURCE_SIGMA_MM` carrying ``eta U I`` (set-point arc power, beam power for laser)
at the torch position; the plate loses heat by free convection from both faces and by radiation from the top face (the root side lies
over the fixture's backing groove, which returns most of its radiation).
Friction stir welding has no arc: the heat is generated under the tool's shoulder and around its
pin (sliding/sticking friction under uniform pressure: a heat flux growing with the radius, ``q(r)
~ r`` for ``r <= R_shoulder``, normalised to the absorbed power), and the tool's torque — so the
power — falls as the stir zone softens: the stirred material's hottest cell under the shoulder
scales the cold-plate power by :func:`softening` (the flow stress vanishes at the solidus), which keeps FSW a
solid-state process (tested). The clamped plate also loses heat into the machine's backing anvil
(:data:`H_BACKING`). The power applied is recorded (:attr:`HeatFlow.power_w`); the
machine's torque is that power over ``eta * omega``.
Melting absorbs the latent heat (temperature-recovery method: a cell stays at the melting point
until its melt fraction is 1 or 0), and no cell gets hotter than its boiling point (the power goes
into evaporation). Ahead of the torch the plate is at the preheat temperature.

Numerics: locally one-dimensional backward Euler (one tridiagonal solve along x, one along y per
step; unconditionally stable, no oscillations) with a fixed step :data:`STEP_S`, independent of any
camera rate. The grid is square ``dx`` (half a camera pixel, at most 0.5 mm) along the seam and
across the joint under the camera, growing geometrically towards the plate edges (60 mm either
side, adiabatic). It travels with the torch in whole cells (an exact shift, no numerical
diffusion): it reaches :attr:`PlateGrid.behind_mm` behind the torch and ``ahead_mm`` ahead; the
plate that leaves the grid behind is beyond the camera's view.

Frames are sampled from the solved field at the camera's own times (linear in time between two
steps, 2 x 2 sub-pixel points averaged over each pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack
from scipy.ndimage import map_coordinates
from scipy.special import erf
from weldfusion.sensors.electrical.physics import process_efficiency
from weldfusion.sensors.fsw_process import KISSING_CONDUCTANCE, disturbance
from weldfusion.sensors.materials import FswParams, Material
from weldfusion.sensors.scenario import Scenario, first_passage

#: Solver time step (s).
STEP_S = 0.005
#: Gaussian radius (1 sigma) of the heat source on the plate (mm).
SOURCE_SIGMA_MM = {"GMAW": 2.5, "TIG": 2.0, "laser": 0.45}
#: Free-convection coefficient of each plate face, W/(mm^2 K) (15 W/m^2K).
H_CONVECTION = 15e-6
#: Stefan-Boltzmann constant, W/(mm^2 K^4).
SIGMA_SB = 5.670e-14
#: Ambient temperature, degC.
T_AMBIENT_C = 25.0
#: Share of the joint face conductance left where the joint did not fuse.
UNFUSED_CONDUCTANCE = 0.08
#: Half width of the plate across the joint (mm) and growth of the cells outside the camera's view.
PLATE_HALF_WIDTH_MM = 60.0
CELL_GROWTH = 1.3
#: Extra burn-through power (the keyhole opens, the arc couples more): share of the set power.
BURN_THROUGH_EXTRA = 0.25
#: FSW: exponent of the flow-stress fall with homologous temperature (:func:`softening`) and the
#: least share of the cold-plate torque that remains (the sticking layer still shears).
SOFTENING_EXPONENT = 2.0
SOFTENING_FLOOR = 0.05
#: FSW: contact conductance of the clamped plate's root face to the machine's steel backing anvil,
#: W/(mm^2 K) (1000 W/m^2K; the anvil stays near the preheat temperature).
H_BACKING = 1.0e-3
#: FSW of a dissimilar pair: share of the friction heat per unit contact area on the harder,
#: higher-melting side under the shoulder (it slides on a film of the stirred softer metal).
HARD_SIDE_SHARE = 0.3


@dataclass(frozen=True)
class CameraView:
    """Where a camera on the carriage looks: frame ``times`` (N,) s; pixel columns ``xi`` (W,) mm
    along travel relative to the torch; rows ``y`` (H,) mm across the joint; pixel pitch ``pixel_mm``."""

    times: np.ndarray
    xi: np.ndarray
    y: np.ndarray
    pixel_mm: float


@dataclass
class HeatFlow:
    """The solved thermal history of one run.

    Attributes:
        step_times: (S,) s, end of each solver step (from arc ignition to the end of the run).
        pool_half_width_mm: (S,) half width of the molten region at the torch (melt fraction > 0.5).
        pool_length_mm: (S,) length of the molten region behind the torch.
        peak_c: (S, 2) hottest cell of material a and of material b, degC.
        frames_c: (N, H, W) float32 true surface temperature at the camera pixels, degC (None without a camera).
        melt: (N, H, W) float32 melt fraction at the camera pixels, 0..1.
        probe_c: (S, P) float64 temperature at the world points of ``probes`` (x mm along the seam, y mm).
        power_w: (S,) float64 absorbed power applied in each step, W (FSW: after the stir zone's softening).
    """

    step_times: np.ndarray
    pool_half_width_mm: np.ndarray
    pool_length_mm: np.ndarray
    peak_c: np.ndarray
    frames_c: np.ndarray | None = None
    melt: np.ndarray | None = None
    probe_c: np.ndarray | None = None
    power_w: np.ndarray | None = None

    def power_at(self, times: np.ndarray) -> np.ndarray:
        """Absorbed power (W) the solver applied, at ``times`` (s), (n,); 0 before the first step."""
        if self.power_w is None or self.step_times.size == 0:
            return np.zeros(np.shape(times))
        return np.interp(times, self.step_times, self.power_w, left=0.0, right=0.0)

    def pool_at(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(half width, length) of the pool in mm at ``times`` (s), (n,) each; 0 before ignition."""
        if self.step_times.size == 0:
            z = np.zeros(np.shape(times))
            return z, z
        hw = np.interp(times, self.step_times, self.pool_half_width_mm, left=0.0)
        ln = np.interp(times, self.step_times, self.pool_length_mm, left=0.0)
        return hw, ln


@dataclass(frozen=True)
class PlateGrid:
    """The travelling grid: ``nx`` columns of ``dx`` mm; rows centred at ``yc`` (ny,) mm with widths ``wy``."""

    dx: float
    nx: int
    behind_mm: float
    yc: np.ndarray
    wy: np.ndarray

    @property
    def ny(self) -> int:
        return self.yc.size


def plate_grid(dx: float, behind_mm: float, ahead_mm: float, fine_half_mm: float) -> PlateGrid:
    """Grid with square ``dx`` cells for ``|y| <= fine_half_mm`` and geometric growth to the plate edges."""
    n_fine = int(np.ceil(fine_half_mm / dx))
    widths = [dx] * n_fine
    edge, w = n_fine * dx, dx
    while edge < PLATE_HALF_WIDTH_MM:
        w *= CELL_GROWTH
        widths.append(w)
        edge += w
    half = np.asarray(widths)
    wy = np.concatenate([half[::-1], half])  # joint (y = 0) is the face between the two halves
    faces = np.concatenate([[0.0], np.cumsum(wy)]) - half.sum()
    yc = 0.5 * (faces[1:] + faces[:-1])
    nx = int(np.ceil((behind_mm + ahead_mm) / dx))
    return PlateGrid(float(dx), nx, float(behind_mm), yc, wy)


def _props(mat: Material) -> tuple[float, float, float]:
    """k W/(mm K), rho c J/(mm^3 K), rho L J/mm^3."""
    return mat.conductivity / 1000.0, mat.density * mat.specific_heat * 1e-9, mat.density * mat.latent_heat_j_kg * 1e-9


def _spd_factor(diag: np.ndarray, off: np.ndarray):
    """LAPACK factors of a symmetric positive definite tridiagonal matrix (``dpttrf``)."""
    d, e, info = lapack.dpttrf(diag, off)
    if info != 0:
        raise RuntimeError(f"heat-flow matrix is not positive definite (dpttrf info {info})")
    return d, e


def _spd_solve(factors, rhs: np.ndarray) -> np.ndarray:
    x, info = lapack.dpttrs(*factors, rhs)
    if info != 0:
        raise RuntimeError(f"heat-flow solve failed (dpttrs info {info})")
    return x


def _y_factors(g_y: np.ndarray, cap: np.ndarray, joint: int, joint_factor: np.ndarray, dt: float):
    """Factors of the y-sweep system, columns one after another (column-major (nx, ny) order).

    Each row's equation is multiplied by its heat capacity, which makes the matrix symmetric;
    the right-hand side must be scaled the same way (``cap * T``).

    Args:
        g_y: (ny - 1,) conductance between rows j and j + 1 per unit length along x (W/(mm K)).
        cap: (ny,) heat capacity of each row per unit length and thickness (J/(mm^2 K)).
        joint: index of the face on the joint; joint_factor: (nx,) its conductance share per column.
    """
    nx = joint_factor.size
    g = np.broadcast_to(g_y[:, None], (g_y.size, nx)).copy()
    g[joint] *= joint_factor
    diag = np.broadcast_to(cap[:, None], (cap.size, nx)).copy()
    diag[1:] += dt * g
    diag[:-1] += dt * g
    off = np.vstack([-dt * g, np.zeros((1, nx))]).T.ravel()[:-1]  # zero between one column and the next
    return _spd_factor(diag.T.ravel(), off)


def _gauss_share(edges: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Share of a unit Gaussian (centre, sigma) falling into each interval between ``edges``."""
    c = erf((edges - centre) / (np.sqrt(2.0) * sigma))
    return 0.5 * np.diff(c)


def _joint_factor(scn: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """World x (mm, increasing) and joint-face conductance factor there once the torch has passed:
    1 where it fused, down to :data:`UNFUSED_CONDUCTANCE` where it passed during lack_of_fusion
    (ahead of the torch the butt is tight: factor 1)."""
    if scn.is_fsw:  # a kissing bond: the faces touch but did not bond
        factor = 1.0 - (1.0 - KISSING_CONDUCTANCE) * np.minimum(scn.envelope("kissing_bond", scn.t), 1.0)
    else:
        factor = 1.0 - (1.0 - UNFUSED_CONDUCTANCE) * scn.envelope("lack_of_fusion", scn.t)
    xs, first = first_passage(scn)
    lowest = np.minimum.reduceat(factor, first) if xs.size else factor[:0]
    return xs, lowest


def _step_mean_spread(scn: Scenario, step_times: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (mm) of the lateral torch position over each step (S,) each."""
    csum = np.concatenate([[0.0], np.cumsum(scn.weave)])
    csum2 = np.concatenate([[0.0], np.cumsum(scn.weave**2)])
    lo = np.clip(np.searchsorted(scn.t, step_times - dt), 0, scn.t.size - 1)
    hi = np.clip(np.searchsorted(scn.t, step_times), lo + 1, scn.t.size)
    count = hi - lo
    mean = (csum[hi] - csum[lo]) / count
    var = np.maximum((csum2[hi] - csum2[lo]) / count - mean**2, 0.0)
    return mean, np.sqrt(var)


def absorbed_power(scn: Scenario, times: np.ndarray) -> np.ndarray:
    """Power entering the plate (W) at ``times``: ``eta`` x set-point arc (beam) power while it burns,
    plus the burn-through surge; FSW: ``eta`` x the cold-plate tool power with its imperfections'
    disturbance (before the stir zone's softening, which the solver applies); (n,)."""
    p = process_efficiency(scn.process) * scn.set_power()
    if scn.is_fsw:
        p = p * disturbance(scn, scn.t)["power"]
    else:
        p = p * (1.0 + BURN_THROUGH_EXTRA * scn.envelope("burn_through", scn.t))
    return np.interp(times, scn.t, p)


def softening(temp_c: np.ndarray, solidus_c: np.ndarray, preheat_c: float) -> np.ndarray:
    """Share of its cold-plate torque that a stir zone at ``temp_c`` (its hottest point) still resists
    an FSW tool with: ``1 - ((T - T0) / (T_solidus - T0)) ** SOFTENING_EXPONENT``, at least
    :data:`SOFTENING_FLOOR` — the flow stress vanishes at the solidus, so the stir zone does not melt."""
    x = np.clip((temp_c - preheat_c) / np.maximum(solidus_c - preheat_c, 1.0), 0.0, 1.0)
    return np.maximum(1.0 - x**SOFTENING_EXPONENT, SOFTENING_FLOOR)


def _tool_share(grid_x: np.ndarray, grid_y: np.ndarray, x0: float, y0: float, radius: float,
                weight: np.ndarray) -> tuple[slice, slice, np.ndarray]:
    """Share of an FSW tool's heat in the cells under it: flux ``~ r`` inside the shoulder radius
    times the row's ``weight`` (ny, 1), evaluated at 3 x 3 points per cell (the shoulder spans only a
    few cells), summing to 1. Returns the (rows, columns) slices of the cells it covers and their shares."""
    dx = grid_x[1] - grid_x[0]
    rows = slice(*np.searchsorted(grid_y, [y0 - radius - dx, y0 + radius + dx]))
    cols = slice(*np.searchsorted(grid_x, [x0 - radius - dx, x0 + radius + dx]))
    gx, gy = grid_x[cols], grid_y[rows]
    w = np.zeros((gy.size, gx.size))
    for fy in (-1.0 / 3.0, 0.0, 1.0 / 3.0):
        for fx in (-1.0 / 3.0, 0.0, 1.0 / 3.0):
            r = np.hypot(gx[None, :] + fx * dx - x0, gy[:, None] + fy * dx - y0)
            w += np.where(r <= radius, r + 0.1 * radius, 0.0)  # + a pin share around the axis
    w = w * weight[rows]
    total = w.sum()
    return rows, cols, (w / total if total > 0 else w)


def solve_heat_flow(
    scn: Scenario,
    camera: CameraView | None = None,
    probes: np.ndarray | None = None,
    dx: float = 0.4,
    behind_mm: float = 45.0,
    ahead_mm: float = 20.0,
    fine_half_mm: float = 20.0,
    until_s: float | None = None,
    losses: bool = True,
) -> HeatFlow:
    """Solve the run's heat flow (see module docstring).

    Args:
        camera: where to sample frames (None: geometry only).
        probes: (P, 2) world points (x mm along the seam from the torch's start, y mm) whose
            temperature is recorded every step; they must stay inside the travelling grid
            (else NaN).
        dx: cell size under the camera (mm); behind_mm / ahead_mm: grid extent around the torch;
            fine_half_mm: half width of the square-cell band across the joint.
        until_s: solve up to this time (s; default the end of the run): the plate cooling after it.
        losses: False leaves out convection and radiation (an adiabatic plate, as Rosenthal's solution).
    """
    pair = scn.pair
    grid = plate_grid(dx, behind_mm, ahead_mm, fine_half_mm)
    nx, ny = grid.nx, grid.ny
    d = pair.thickness_mm
    t0 = pair.preheat_c
    side_b = grid.yc > 0
    (ka, ca, la), (kb, cb, lb) = _props(pair.a), _props(pair.b)
    k_row = np.where(side_b, kb, ka)[:, None]  # (ny, 1)
    c_row = np.where(side_b, cb, ca)[:, None]
    l_row = np.where(side_b, lb, la)[:, None]
    tm_row = np.where(side_b, pair.b.melting_point_c, pair.a.melting_point_c)[:, None]
    tb_row = np.where(side_b, pair.b.boiling_point_c, pair.a.boiling_point_c)[:, None]
    eps_s = np.where(side_b, pair.b.emissivity, pair.a.emissivity)[:, None]
    eps_l = np.where(side_b, pair.b.emissivity_liquid, pair.a.emissivity_liquid)[:, None]
    dt = STEP_S

    # x sweep: every row has its own constant r = k dt / (rho c dx^2); adiabatic grid ends
    r_x = np.broadcast_to((k_row * dt / (c_row * grid.dx**2)), (ny, nx)).copy()
    diag_x = 1.0 + 2.0 * r_x
    diag_x[:, 0] -= r_x[:, 0]
    diag_x[:, -1] -= r_x[:, -1]
    off_x = -r_x.copy()
    off_x[:, -1] = 0.0  # no link from the end of a row to the start of the next
    fx = _spd_factor(diag_x.ravel(), off_x.ravel()[:-1])

    # y sweep: series conductance between neighbouring rows (per unit length along x)
    k1 = k_row[:, 0]
    g_y = 1.0 / (0.5 * grid.wy[:-1] / k1[:-1] + 0.5 * grid.wy[1:] / k1[1:])  # (ny - 1,) W/(mm K) per mm
    joint = int(np.argmax(side_b)) - 1  # face between row `joint` and `joint + 1`
    cap = c_row[:, 0] * grid.wy  # heat capacity of a row per unit length along x and thickness, J/(mm^2 K)
    cap_y = cap[:, None]
    jx, jf = _joint_factor(scn)

    x_torch = scn.torch_x
    t_start = max(0.0, scn.ignition_s - dt)
    n_steps = int(np.ceil((max(scn.duration_s, until_s or 0.0) - t_start) / dt))
    step_times = t_start + dt * np.arange(1, n_steps + 1)
    temp = np.full((ny, nx), t0)
    melt = np.zeros((ny, nx))
    origin = float(np.interp(t_start, scn.t, x_torch)) - grid.behind_mm  # world x of the grid's left edge
    x_cells = (np.arange(nx) + 0.5) * grid.dx
    sigma = max(SOURCE_SIGMA_MM.get(scn.process, 1.5), grid.dx)
    y_edges = np.concatenate([[grid.yc[0] - grid.wy[0] / 2], grid.yc + grid.wy / 2])
    power = absorbed_power(scn, step_times - dt / 2)
    fsw = scn.params if isinstance(scn.params, FswParams) else None
    soft_b = pair.b.melting_point_c < pair.a.melting_point_c  # which side is stirred (the lower-melting one)
    soft_row = (side_b == soft_b)[:, None]  # (ny, 1)
    solidus = min(pair.a.melting_point_c, pair.b.melting_point_c)
    hard_share = np.where(soft_row, 1.0, HARD_SIDE_SHARE)
    applied = np.zeros(n_steps)
    soft = 1.0
    ys_all, ys_spread = _step_mean_spread(scn, step_times, dt)
    xs_all = np.interp(step_times, scn.t, x_torch)
    t_amb_k4 = (T_AMBIENT_C + 273.15) ** 4

    hw_out, len_out = np.zeros(n_steps), np.zeros(n_steps)
    peak_out = np.zeros((n_steps, 2))
    probe_out = None if probes is None else np.full((n_steps, len(probes)), np.nan)
    iy_probe = None if probes is None else np.interp(probes[:, 1], grid.yc, np.arange(ny))  # fractional rows
    frames = melt_frames = None
    frame_idx = 0
    if camera is not None:
        n_f = camera.times.size
        frames = np.full((n_f, camera.y.size, camera.xi.size), t0, dtype=np.float32)
        melt_frames = np.zeros(frames.shape, dtype=np.float32)
        frame_idx = int(np.searchsorted(camera.times, t_start, side="right"))
        sub = np.array([-0.25, 0.25]) * camera.pixel_mm
        iy_cam = np.interp((camera.y[:, None] + sub[None, :]).ravel(), grid.yc, np.arange(ny))  # (2H,)
    prev_temp, prev_melt, prev_origin = temp.copy(), melt.copy(), origin
    fy, fy_joint = None, None

    for s in range(n_steps):
        # travel: shift the grid by whole cells so the torch stays behind_mm from its left edge
        shift = int(np.floor((xs_all[s] - origin - grid.behind_mm) / grid.dx))
        if shift > 0:  # new arrays: the previous step's field stays as it was for the frame sampling
            shift = min(shift, nx)
            temp = np.concatenate([temp[:, shift:], np.full((ny, shift), t0)], axis=1)
            melt = np.concatenate([melt[:, shift:], np.zeros((ny, shift))], axis=1)
            origin += shift * grid.dx
        # explicit sources: the torch, convection from both faces, radiation from the top face
        eps = eps_s + (eps_l - eps_s) * melt
        loss = 2.0 * H_CONVECTION * (temp - T_AMBIENT_C) + SIGMA_SB * eps * ((temp + 273.15) ** 4 - t_amb_k4)
        if fsw is not None:  # the plate lies clamped on the machine's steel anvil
            loss = loss + H_BACKING * (temp - t0)
        loss = loss if losses else 0.0
        q = 0.0
        if power[s] > 0 and fsw is not None:  # the tool: friction under the shoulder, softening with heat
            applied[s] = power[s] * soft
            rows, cols, share = _tool_share(origin + x_cells, grid.yc, xs_all[s], ys_all[s], fsw.shoulder_radius_mm,
                                            hard_share)
            q = np.zeros((ny, nx))
            q[rows, cols] = applied[s] * share / (grid.wy[rows, None] * grid.dx * d)  # W/mm^3
        elif power[s] > 0:
            applied[s] = power[s]
            x_edges = origin + np.arange(nx + 1) * grid.dx
            sigma_y = np.hypot(sigma, ys_spread[s])  # a wobble faster than the step widens the source
            q = power[s] * np.outer(_gauss_share(y_edges, ys_all[s], sigma_y) / grid.wy,
                                    _gauss_share(x_edges, xs_all[s], sigma) / grid.dx) / d  # W/mm^3
        rhs = temp + dt * (q - loss / d) / c_row
        temp = _spd_solve(fx, rhs.ravel()).reshape(ny, nx)
        # y sweep with the joint face scaled where the torch passed and it did not fuse
        passed = origin + x_cells < xs_all[s]
        jfac = np.where(passed, np.interp(origin + x_cells, jx, jf), 1.0)
        if fy is None or not np.array_equal(jfac, fy_joint):
            fy, fy_joint = _y_factors(g_y, cap, joint, jfac, dt), jfac
        temp = _spd_solve(fy, (temp * cap_y).T.ravel()).reshape(nx, ny).T
        # latent heat (temperature recovery), then the boiling cap
        excess = (temp - tm_row) * c_row / l_row  # melt fraction the sensible heat above/below Tm is worth
        new = np.clip(melt + np.where(((excess > 0) & (melt < 1)) | ((excess < 0) & (melt > 0)), excess, 0.0), 0.0, 1.0)
        changed = new != melt
        temp = np.where(changed, tm_row + (excess - (new - melt)) * l_row / c_row, temp)
        melt = new
        np.minimum(temp, tb_row, out=temp)

        # what the run needs from this step
        xs, ys = xs_all[s], ys_all[s]
        col = int(np.clip((xs - origin) / grid.dx, 0, nx - 1))
        row = int(np.clip(np.searchsorted(y_edges, ys) - 1, 0, ny - 1))
        molten_col = melt[:, max(col - 1, 0)] > 0.5
        if molten_col.any():
            hw_out[s] = 0.5 * (y_edges[1:][molten_col].max() - y_edges[:-1][molten_col].min())
        molten_row = melt[row, : col + 1] > 0.5
        if molten_row.any():
            len_out[s] = xs - (origin + grid.dx * np.argmax(molten_row))
        peak_out[s] = temp[~side_b].max(), temp[side_b].max()
        if fsw is not None and power[s] > 0:  # the stir zone under the shoulder sets the next step's torque
            stirred = np.where(soft_row[rows], temp[rows, cols], -np.inf)[share > 0]
            soft = float(softening(stirred.max(), solidus, t0)) if stirred.size else 1.0
        if probes is not None:
            ix = (probes[:, 0] - origin) / grid.dx - 0.5
            inside = (ix >= 0) & (ix <= nx - 1)
            probe_out[s, inside] = map_coordinates(temp, [iy_probe[inside], ix[inside]], order=1, mode="nearest")
        if camera is not None:
            t_now = step_times[s]
            while frame_idx < camera.times.size and camera.times[frame_idx] <= t_now + 1e-12:
                tf = camera.times[frame_idx]
                w_now = float(np.clip(1.0 - (t_now - tf) / dt, 0.0, 1.0))
                x_cam = float(np.interp(tf, scn.t, x_torch)) + camera.xi
                xsub = (x_cam[:, None] + sub[None, :]).ravel()  # (2W,)
                vals = []
                for field_t, field_m, org in ((temp, melt, origin), (prev_temp, prev_melt, prev_origin)):
                    ix = (xsub - org) / grid.dx - 0.5
                    coords = np.meshgrid(iy_cam, ix, indexing="ij")
                    vals.append([map_coordinates(f, coords, order=1, mode="nearest") for f in (field_t, field_m)])
                h, w = camera.y.size, camera.xi.size
                for k, out in enumerate((frames, melt_frames)):
                    v = w_now * vals[0][k] + (1.0 - w_now) * vals[1][k]  # (2H, 2W)
                    out[frame_idx] = v.reshape(h, 2, w, 2).mean(axis=(1, 3))
                frame_idx += 1
        prev_temp, prev_melt, prev_origin = temp, melt, origin
    return HeatFlow(step_times, hw_out, len_out, peak_out, frames, melt_frames, probe_out, applied)
