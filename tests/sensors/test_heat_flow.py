"""The heat flow a welding engineer accepts: cooling times, a continuous joint, physical caps."""

from __future__ import annotations

import numpy as np
import pytest
from weldfusion.datasets import simulator_checks as checks
from weldfusion.sensors.materials import PAIRS
from weldfusion.sensors.scenario import make_scenario
from weldfusion.sensors.thermal.conduction import plate_grid, solve_heat_flow


def test_adiabatic_plate_reproduces_rosenthal():
    """Without surface losses the solver is Rosenthal's thin plate: t8/5 within 3 %."""
    r = checks.cooling_time("Al-steel", "GMAW", "DC04", losses=False)
    assert r["measured_s"] == pytest.approx(r["rosenthal_s"], rel=0.03)


@pytest.mark.parametrize("material", ["DC04", "AA6061"])
def test_cooling_time_within_a_factor_1_5_of_the_estimate(material):
    """With convection and radiation the plate cools faster, but within 1.5x of EN 1011-2 / Rosenthal."""
    r = checks.cooling_time("Al-steel", "GMAW", material)
    reference = r["en1011_s"] or r["rosenthal_s"]
    assert reference / 1.5 <= r["measured_s"] <= reference * 1.5, r
    assert r["measured_s"] < r["rosenthal_s"]  # losses only take heat away


def test_rosenthal_with_losses_is_his_adiabatic_plate_without_them_and_shorter_with_them():
    args = (3000.0, 6.0, 2.0, "DC04", 20.0, (800.0, 500.0))
    adiabatic = checks.rosenthal_cooling_s(3000.0 / 6.0, 2.0, "DC04", 20.0, (800.0, 500.0))
    assert checks.rosenthal_losses_cooling_s(*args, h_w_m2k=0.0) == pytest.approx(adiabatic, rel=0.02)
    lossy = checks.rosenthal_losses_cooling_s(*args, h_w_m2k=checks.loss_coefficient("DC04", (800.0, 500.0), 20.0))
    assert lossy < adiabatic


@pytest.mark.parametrize(("pair", "process", "material"), [("Ti-Ni", "laser", "Ti6Al4V"), ("Cu-SS", "GMAW", "316L")])
def test_poor_conductors_cool_as_the_plate_with_losses_predicts(pair, process, material):
    """Ti-6Al-4V and 316L lose a large share of their heat through the faces during their long cooling:
    the adiabatic estimate is 2x too long, Rosenthal's plate with the same losses within 1.5x."""
    r = checks.cooling_time(pair, process, material)
    ref = r["rosenthal_losses_s"]
    assert ref / 1.5 <= r["measured_s"] <= ref * 1.5, r
    assert r["measured_s"] < r["rosenthal_s"] / 1.5  # the adiabatic plate is far off


@pytest.mark.parametrize("pair", ["Al-steel", "Cu-SS"])
def test_temperature_is_continuous_across_the_joint(pair):
    """The step between the two cells at the joint halves with the cell size (a gradient, not a jump)."""
    coarse = checks.joint_step(pair, dx=0.4)
    fine = checks.joint_step(pair, dx=0.2)
    assert fine < 0.7 * coarse, (coarse, fine)
    assert coarse < 200.0  # the two independent plates of the old model differed by ~1800 K at the arc


@pytest.mark.parametrize("pair", list(PAIRS))
def test_no_material_above_its_boiling_point(pair):
    for name, p in checks.peak_temperatures(pair).items():
        assert p["peak_c"] <= p["boiling_c"] + 1e-6, (name, p)
        assert p["peak_c"] > 300.0  # and the weld does heat both sides


def test_laser_keyhole_is_capped_at_boiling():
    peaks = checks.peak_temperatures("Ti-Ni", "laser")
    assert peaks["Ti6Al4V"]["peak_c"] == pytest.approx(peaks["Ti6Al4V"]["boiling_c"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aluminium_steel_gmaw_is_weld_brazing(seed):
    """The arc melts the aluminium and wets the steel; the steel stays solid."""
    peaks = checks.peak_temperatures("Al-steel", "GMAW", seed=seed)
    assert peaks["AA6061"]["peak_c"] > peaks["AA6061"]["melting_c"]
    assert peaks["DC04"]["peak_c"] < peaks["DC04"]["melting_c"]


def test_heat_builds_up_and_stays_after_the_arc():
    r = checks.after_arc_off("Al-steel")
    assert r["behind_at_ignition_c"] < r["preheat_c"] + 10.0  # never welded, still cold
    assert r["hottest_1s_after_off_c"] > r["preheat_c"] + 150.0  # still warm a second after arc-off


def test_latent_heat_holds_the_melt_at_the_melting_point():
    """A cell that melts and freezes again dwells at its melting point (the latent heat)."""
    scn = make_scenario("Al-steel", "GMAW", 6.0, [3, 1, 1, 1], defects=[])
    tm = 0.5 * (scn.weld_start_s + scn.weld_end_s)
    x = float(np.interp(tm, scn.t, scn.torch_x))
    heat = solve_heat_flow(scn, probes=np.array([[x, -3.0]]), behind_mm=30.0)
    t = heat.probe_c[:, 0]
    t = t[np.isfinite(t)]
    assert t.max() > 700.0
    at_melting = np.abs(t - scn.pair.a.melting_point_c) < 2.0
    assert at_melting.sum() * 0.005 > 0.05  # tens of milliseconds on the plateau


def test_grid_is_fine_under_the_camera_and_reaches_the_plate_edges():
    g = plate_grid(0.4, 45.0, 20.0, 18.0)
    fine = np.abs(g.yc) < 18.0
    np.testing.assert_allclose(g.wy[fine], 0.4)
    assert g.yc.max() + g.wy[-1] / 2 >= 60.0 and g.yc.min() - g.wy[0] / 2 <= -60.0
    assert g.nx * g.dx >= 65.0
    assert np.all(np.diff(g.yc) > 0) and np.isclose(g.yc[g.yc > 0].min(), 0.2)  # joint is a cell face
