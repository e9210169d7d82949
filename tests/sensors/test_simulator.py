"""The physical multi-sensor simulator: physics, determinism, file format, mess, defect signatures."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest
from weldfusion.datasets.reader import Recording
from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
from weldfusion.datasets.validate import validate
from weldfusion.recipes.taxonomy import DEFAULT_DEFECTS, DEFAULT_PHASES, MATERIAL_PAIRS
from weldfusion.sensors.electrical.physics import (
    MIN_TRAVEL_MM_S,
    PROCESS_EFFICIENCY,
    heat_input,
    power,
    process_efficiency,
)
from weldfusion.sensors.materials import PAIRS, get_pair
from weldfusion.sensors.scenario import (
    CONTROL_RATE,
    DEFECT_COUNT_P,
    DEFECT_DURATION_S,
    PHASE_MIN_S,
    WOBBLE_HZ,
    DefectEvent,
    defect_modalities,
    make_scenario,
)

MODS = ("video", "thermal", "acoustic", "electrical")
TINY = SimConfig(
    duration_s=(4.0, 4.0),
    video_rate=100.0,
    video_shape=(32, 32),
    thermal_rate=20.0,
    thermal_shape=(20, 32),
    acoustic_rate=8000.0,
    electrical_rate=2000.0,
    missing_prob=0.0,
    gap_prob=0.0,
)


# -- physics ---------------------------------------------------------------------------------------
def test_heat_input_formula():
    assert heat_input(20.0, 200.0, 5.0, "GMAW") == pytest.approx(0.8 * 20 * 200 / 5 / 1000)
    assert heat_input(12.0, 150.0, 2.0, "TIG") == pytest.approx(0.6 * 12 * 150 / 2 / 1000)
    # defined only while the torch moves: a stationary (or starting) torch reads 0, not a spike
    assert heat_input(20.0, 200.0, 0.0, "GMAW") == 0.0
    assert heat_input(20.0, 200.0, MIN_TRAVEL_MM_S - 0.1, "GMAW") == 0.0
    u, i, v = np.array([10.0, 20.0]), np.array([100.0, 200.0]), np.array([4.0, 0.5])
    np.testing.assert_allclose(heat_input(u, i, v, "laser"), [0.7 * 10 * 100 / 4 / 1000, 0.0])
    np.testing.assert_allclose(power(u, i), u * i)
    assert PROCESS_EFFICIENCY == {"GMAW": 0.8, "TIG": 0.6, "laser": 0.7, "FSW": 0.9}
    with pytest.raises(ValueError, match="unknown process"):
        process_efficiency("oxyfuel")


@pytest.mark.parametrize("pair", ["Al-steel", "Ti-Ni", "Cu-SS"])
def test_heat_input_has_no_start_or_end_spike(pair):
    run = simulate_run(pair, None, 0, 4, TINY, defects=[])
    scn = run.scenario
    hi = run.truth["heat_input"]
    steady = hi[(scn.t > scn.weld_start_s + 0.2) & (scn.t < scn.weld_end_s - 0.2)]
    # what a model sees: 0.4 s window means (a start that reaches speed in 50 ms leaves a short
    # per-sample peak of P / v near the 2 mm/s threshold, but no window-level spike)
    window = np.convolve(hi, np.ones(400) / 400, mode="valid")
    assert window.max() <= 1.3 * np.median(steady)


def test_laser_wobbles_at_scanner_frequencies():
    for seed in range(30):
        scn = make_scenario("Ti-Ni", "laser", 10.0, seed, defects=[])
        weaving = [p for p in scn.phases if p.label == "weaving"]
        if weaving:
            break
    ph = weaving[0]
    sel = (scn.t > ph.start_s + 0.15) & (scn.t < ph.end_s - 0.15)
    w = scn.weave[sel] - scn.weave[sel].mean()
    f = np.fft.rfftfreq(w.size, 1.0 / CONTROL_RATE)[np.argmax(np.abs(np.fft.rfft(w)))]
    assert WOBBLE_HZ[0] - 5 <= f <= WOBBLE_HZ[1] + 5
    assert 0.4 < np.abs(w).max() < 1.1  # 0.5-1 mm


def test_tig_has_little_spatter():
    def spatter_share(process):
        n = sum(ev.label == "spatter" for k in range(150)
                for ev in make_scenario("Al-steel", process, 10.0, k).defects)
        return n / sum(len(make_scenario("Al-steel", process, 10.0, k).defects) for k in range(150))
    assert spatter_share("TIG") < 0.5 * spatter_share("GMAW")


def test_materials_and_pairs():
    assert set(PAIRS) == {"Al-steel", "Ti-Ni", "Cu-SS", "Al-Cu"} and set(MATERIAL_PAIRS) == set(PAIRS) - {"Al-Cu"}
    assert {p: PAIRS[p].default_process for p in PAIRS} == {"Al-steel": "GMAW", "Ti-Ni": "laser", "Cu-SS": "GMAW",
                                                            "Al-Cu": "FSW"}
    al = get_pair("Al-steel")
    assert al.a.diffusivity_mm2_s > 5 * al.b.diffusivity_mm2_s  # aluminium spreads heat much faster
    assert al.a.melting_point_c < al.b.melting_point_c
    with pytest.raises(ValueError, match="unknown material pair"):
        get_pair("Mg-Zn")
    with pytest.raises(ValueError, match="not simulated"):
        get_pair("Al-Cu").params("GMAW")  # Al-Cu is friction stir welded only


# -- scenario ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", sorted(MATERIAL_PAIRS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_phases_cover_the_run_without_overlap(pair, seed):
    duration = 8.0 + seed
    scn = make_scenario(pair, None, duration, seed)
    ph = scn.phases
    assert ph[0].start_s == 0.0 and ph[-1].end_s == pytest.approx(duration)
    for a, b in itertools.pairwise(ph):
        assert a.end_s == pytest.approx(b.start_s)  # contiguous: no gap, no overlap
    assert all(p.end_s - p.start_s >= PHASE_MIN_S - 1e-9 for p in ph)
    labels = [p.label for p in ph]
    assert labels[:2] == ["idle", "arc_start"] and labels[-2:] == ["arc_end", "idle"]
    assert set(labels[2:-2]) <= {"deposition", "weaving", "parameter_change"}
    assert all(p in DEFAULT_PHASES for p in labels)
    assert 0 <= len(scn.defects) <= len(DEFECT_COUNT_P) - 1
    for d in scn.defects:
        assert DEFECT_DURATION_S[0] - 1e-6 <= d.end_s - d.start_s <= DEFECT_DURATION_S[1] + 1e-6
        assert scn.weld_start_s <= d.start_s and d.end_s <= scn.weld_end_s


def test_window_labels_majority_and_overlap():
    """The simulator's labels through the one window-label rule (datasets/labels.py)."""
    from weldfusion.datasets.labels import defect_labels, phase_labels
    from weldfusion.recipes.taxonomy import LabelInterval

    phases = [LabelInterval(0.0, 1.0, "idle"), LabelInterval(1.0, 3.0, "deposition")]
    defects = [LabelInterval(1.1, 1.4, "porosity")]
    t0 = np.array([0.9, 1.35])
    ph = phase_labels(phases, t0, 0.4, DEFAULT_PHASES)
    hot = defect_labels(defects, t0, 0.4, DEFAULT_DEFECTS, 0.3)
    assert DEFAULT_PHASES[ph[0]] == "deposition"
    assert hot[0, DEFAULT_DEFECTS.index("porosity")] == 1  # covers 0.2 of 0.3 s of itself
    assert hot[1].sum() == 0


# -- determinism and file format ------------------------------------------------------------------------
def test_deterministic_per_seed():
    a = simulate_run("Cu-SS", None, 1, 5, TINY)
    b = simulate_run("Cu-SS", None, 1, 5, TINY)
    c = simulate_run("Cu-SS", None, 1, 6, TINY)
    for m in MODS:
        np.testing.assert_array_equal(a.streams[m].data, b.streams[m].data)
    assert a.phases == b.phases and a.defects == b.defects
    assert not np.array_equal(a.streams["electrical"].data, c.streams["electrical"].data)


@pytest.mark.parametrize("pair", sorted(MATERIAL_PAIRS))
def test_file_validates_with_configured_rates_and_shapes(tmp_path, pair):
    cfg = SimConfig(**{**TINY.__dict__, "ae_rate": 50_000.0})
    run = simulate_run(pair, None, 2, 0, cfg)
    path = write_run(run, tmp_path / f"{run.recording_id}.h5")
    assert validate(path) == []
    rec = Recording(path)
    assert rec.meta["recording_id"] == f"{pair.lower()}_{run.meta.process.lower()}_0002"
    assert rec.meta["material_pair"] == pair and rec.meta["source"] == "weldfusion-synth"
    s = rec.streams
    assert s["video"].rate == 100.0 and s["video"].shape == (400, 32, 32) and s["video"].dtype == np.uint8
    assert s["thermal"].rate == 20.0 and s["thermal"].shape == (80, 20, 32) and s["thermal"].dtype == np.float32
    assert s["acoustic"].rate == TINY.acoustic_rate and s["acoustic"].shape == (round(4 * TINY.acoustic_rate),)
    assert s["emission"].rate == 50_000.0 and s["emission"].shape == (200_000,)  # its own sensor, own clock
    assert s["emission"].channel_names == ("ae",) and s["emission"].units == "V"
    assert s["electrical"].rate == 2000.0 and s["electrical"].shape == (8000, 4)
    assert s["electrical"].channel_names == ("current", "voltage", "wire_feed", "travel_speed")
    assert next(p.label for p in rec.phases) == "idle"
    with h5py.File(path) as f:
        assert f["truth/video_arc_xy"].shape == (400, 2)
        assert f["truth/thermal_source_xy"].shape == (80, 2)
        if run.meta.process == "GMAW":
            assert f["truth/short_circuits"].shape[1] == 2


def test_missing_sensor_gaps_and_clock_offsets(tmp_path):
    cfg = SimConfig(**{**TINY.__dict__, "missing_prob": 1.0, "gap_prob": 1.0, "max_clock_offset_s": 0.02})
    clean = simulate_run("Al-steel", None, 0, 11, TINY)
    run = simulate_run("Al-steel", None, 0, 11, cfg)
    assert len(run.missing) == 1 and run.missing[0] not in run.streams
    path = write_run(run, tmp_path / "r.h5")
    assert validate(path) == []
    rec = Recording(path)
    assert set(rec.streams) == set(MODS) - set(run.missing)
    for name, info in rec.streams.items():
        assert len(info.gaps) >= 1
        offset = info.attrs["sim_clock_offset_s"]
        assert abs(offset) <= 0.02 and (offset == 0.0) == (name == "electrical")
        g0, g1 = info.gaps[0]
        i0, i1 = rec.index_range(name, g0, g1)
        inside = rec.read_index(name, i0, i1)
        if name in ("video", "acoustic"):
            assert not inside.any()  # dropped samples are zero
        else:
            np.testing.assert_array_equal(inside, np.broadcast_to(rec.read_index(name, i0 - 1, i0), inside.shape))
        # outside the gaps the data are the clean simulation
        first = rec.read_index(name, 0, i0)
        np.testing.assert_array_equal(first, clean.streams[name].data[:i0])


# -- electrical physics ------------------------------------------------------------------------------------
def test_gmaw_short_circuits_collapse_the_voltage():
    cfg = SimConfig(**{**TINY.__dict__, "electrical_rate": 10_000.0, "duration_s": (6.0, 6.0)})
    run = simulate_run("Al-steel", "GMAW", 0, 4, cfg)
    scn = run.scenario
    el = run.streams["electrical"].data
    t = np.arange(el.shape[0]) / 10_000.0
    sc = np.stack([scn.sc_start, scn.sc_start + scn.sc_dur], axis=1)
    inside = sc[(sc[:, 0] > scn.weld_start_s) & (sc[:, 1] < scn.weld_end_s)]
    rate = len(inside) / (scn.weld_end_s - scn.weld_start_s)
    assert 20.0 <= rate <= 200.0
    long = inside[inside[:, 1] - inside[:, 0] > 1.5e-3]
    mid = np.round((long[:, 0] + long[:, 1]) / 2 * 10_000).astype(int)
    assert np.median(el[mid, 1]) < 6.0  # a few volts while shorted
    arcing = (t > scn.weld_start_s) & (t < scn.weld_end_s) & (el[:, 1] > 10)
    assert np.median(el[arcing, 1]) > 14.0
    # current rises during the short: the end of a short carries more current than its start
    i_start = el[np.round(long[:, 0] * 10_000).astype(int) + 1, 0]
    i_end = el[np.round(long[:, 1] * 10_000).astype(int) - 1, 0]
    assert np.mean(i_end - i_start) > 20.0
    # arc off before ignition and after extinction
    assert np.abs(el[t < scn.source_on_s - 0.01, :2]).max() < 5.0


@pytest.mark.parametrize("process", ["laser", "TIG"])
def test_no_short_circuits_without_metal_transfer(process):
    run = simulate_run("Ti-Ni", process, 0, 4, TINY)
    scn = run.scenario
    el = run.streams["electrical"].data
    t = np.arange(el.shape[0]) / TINY.electrical_rate
    welding = (t > scn.weld_start_s) & (t < scn.weld_end_s)
    assert scn.sc_start.size == 0 and el[welding, 1].min() > 9.0


def test_parameter_change_is_visible_in_the_electrical_channels():
    for seed in range(20):
        scn = make_scenario("Cu-SS", None, 10.0, seed)
        changes = [p for p in scn.phases if p.label == "parameter_change"]
        if changes:
            break
    ch = changes[0]
    before = scn.at("wire_feed", np.array([ch.start_s - 0.01]))[0]
    after = scn.at("wire_feed", np.array([ch.end_s + 0.01]))[0]
    assert abs(after / before - 1.0) > 0.05


# -- thermal physics -----------------------------------------------------------------------------------------
def test_thermal_field_peak_at_source_and_emissivity_step_at_the_joint():
    run = simulate_run("Al-steel", None, 0, 3, SimConfig(**{**TINY.__dict__, "duration_s": (8.0, 8.0),
                                                             "thermal_shape": (40, 64)}))
    frames = run.streams["thermal"].data
    src = run.truth["thermal_source_xy"]
    k = int((run.scenario.weld_start_s + run.scenario.weld_end_s) / 2 * TINY.thermal_rate)
    f = frames[k]
    row, col = np.unravel_index(np.argmax(f), f.shape)
    assert abs(col - src[k, 0]) <= 3 and abs(row - src[k, 1]) <= 3  # peak near the source
    # the true field is continuous across the joint (rows 19 | 20), but the camera (emissivity 1) sees
    # oxidised steel (0.65) far brighter than aluminium (0.12) at the same temperature
    behind = f[:, int(src[k, 0]) - 12 : int(src[k, 0]) - 4]
    assert (behind[20] - behind[19]).mean() > 100.0
    assert frames[0].max() < 40.0  # cold plate before the arc


def test_pairs_shift_the_signals():
    volts, amps, sc = {}, {}, {}
    for pair in MATERIAL_PAIRS:
        run = simulate_run(pair, None, 0, 0, TINY, defects=[])  # the pair's own signals, no defect on top
        scn = run.scenario
        el = run.streams["electrical"].data
        t = np.arange(el.shape[0]) / TINY.electrical_rate
        welding = el[(t > scn.weld_start_s) & (t < scn.weld_end_s)]
        volts[pair], amps[pair], sc[pair] = welding[:, 1].mean(), welding[:, 0].mean(), (welding[:, 1] < 10).mean()
    assert volts["Ti-Ni"] > volts["Cu-SS"] + 5 and sc["Ti-Ni"] == 0.0  # laser driver, no short circuits
    assert amps["Cu-SS"] > 1.3 * amps["Al-steel"] and sc["Al-steel"] > 0.05 and sc["Cu-SS"] > 0.05


def test_weaving_moves_the_arc_in_the_video():
    cfg = SimConfig(**{**TINY.__dict__, "duration_s": (10.0, 10.0)})
    for seed in range(10):
        run = simulate_run("Al-steel", None, 0, seed, cfg)
        weaves = [p for p in run.phases if p.label == "weaving"]
        deps = [p for p in run.phases if p.label == "deposition"]
        if weaves and deps:
            break
    xy = run.truth["video_arc_xy"]
    t = np.arange(xy.shape[0]) / TINY.video_rate

    def spread(p):
        sel = (t > p.start_s + 0.15) & (t < p.end_s - 0.15)
        return xy[sel, 0].std()

    assert spread(weaves[0]) > 3 * spread(deps[0]) + 1.0


# -- defects: signatures where the table says, nowhere else ----------------------------------------------------
def _energy_ratio(base: np.ndarray, other: np.ndarray) -> float:
    a = base.reshape(base.shape[0], -1).astype(np.float64)
    b = other.reshape(other.shape[0], -1).astype(np.float64)
    return float((((b - a) ** 2).sum(0) / (((a - a.mean(0)) ** 2).sum(0) + 1e-12)).max())


@pytest.mark.parametrize("pair", ["Al-steel", "Ti-Ni"])
@pytest.mark.parametrize("label", DEFAULT_DEFECTS)
def test_defect_changes_only_its_modalities(pair, label):
    # a 16 kHz microphone: the crack's faint 5-7 kHz ticks lie above an 8 kHz microphone's Nyquist
    cfg = SimConfig(**{**TINY.__dict__, "ae_rate": 100_000.0, "acoustic_rate": 16_000.0})
    base = simulate_run(pair, None, 0, 3, cfg, defects=[])
    s = base.scenario.weld_start_s + 0.3
    e = s + 0.8
    run = simulate_run(pair, None, 0, 3, cfg, defects=[DefectEvent(label, s, e)])
    expected = defect_modalities(label, base.meta.process)
    assert expected, label
    for m in base.streams:  # the four sensors, the AE sensor and (laser) the laser monitor
        rate = base.streams[m].rate
        i0, i1 = int((s - 0.1) * rate), int((e + 0.5) * rate)
        change = _energy_ratio(base.streams[m].data[i0:i1], run.streams[m].data[i0:i1])
        if m in expected:
            assert change > 1e-3, f"{label}: {m} should change (energy ratio {change:.2e})"
        else:
            whole = _energy_ratio(base.streams[m].data, run.streams[m].data)
            assert whole < 5e-4, f"{label}: {m} should not change (energy ratio {whole:.2e})"
    # outside the event (before it) nothing differs at all
    for m in base.streams:
        i0 = int((s - 0.05) * base.streams[m].rate)
        np.testing.assert_array_equal(base.streams[m].data[:i0], run.streams[m].data[:i0])


def test_laser_electrical_sees_no_defect():
    assert all("electrical" not in defect_modalities(d, "laser") for d in DEFAULT_DEFECTS)
    assert "electrical" in defect_modalities("spatter", "GMAW")
    assert "electrical" not in defect_modalities("spatter", "TIG")
    with pytest.raises(ValueError):
        defect_modalities("distortion", "GMAW")
