"""Friction stir welding in the simulator: the cycle, solid-state heat flow, power = torque x omega,
the tool in the microphone, and each imperfection's signature (same seed with and without it)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch
from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
from weldfusion.recipes.taxonomy import FSW_DEFECTS, FSW_PHASES
from weldfusion.sensors.acoustic import simulate as acoustic_sim
from weldfusion.sensors.acoustic.fsw import PIN_FLATS
from weldfusion.sensors.electrical.physics import PROCESS_EFFICIENCY
from weldfusion.sensors.fsw_machine import CHANNELS
from weldfusion.sensors.fsw_machine import simulate as machine_sim
from weldfusion.sensors.fsw_machine.derived import WINDOW_CHANNELS, derive, mechanical_power
from weldfusion.sensors.materials import PAIRS
from weldfusion.sensors.scenario import DefectEvent, make_scenario
from weldfusion.sensors.thermal import simulate as thermal_sim
from weldfusion.sensors.video import simulate as video_sim

RATE = 1000.0
SEED = (5, 1, 2, 3)
CH = {c: i for i, c in enumerate(CHANNELS)}


def _run(pair: str, defects=None, duration=8.0):
    scn = make_scenario(pair, "FSW", duration, SEED, defects=defects)
    heat = thermal_sim.heat_flow(scn, 50.0, (40, 64), 0.8)
    return scn, heat


@pytest.fixture(scope="module")
def al_cu():
    return _run("Al-Cu", defects=[])


@pytest.fixture(scope="module")
def al_cu_machine(al_cu):
    scn, heat = al_cu
    return machine_sim.simulate(scn, heat, RATE)


def _during(scn, label):
    ph = [p for p in scn.phases if p.label == label]
    return ph[0].start_s, ph[0].end_s


def test_cycle_plunge_dwell_traverse_retract(al_cu):
    scn, _ = al_cu
    labels = [p.label for p in scn.phases]
    assert labels[:3] == ["idle", "plunge", "dwell"] and labels[-2:] == ["retract", "idle"]
    assert set(labels[3:-2]) <= {"traverse", "parameter_change"} and labels[3] == "traverse"
    assert set(labels) <= set(FSW_PHASES)
    assert all(p.end_s - p.start_s >= 0.4 - 1e-9 for p in scn.phases)
    p0, p1 = _during(scn, "plunge")
    d0, d1 = _during(scn, "dwell")
    assert p0 < scn.ignition_s < p1  # the pin touches during the plunge
    r0, r1 = _during(scn, "retract")
    assert r0 < scn.extinction_s < r1  # and leaves the plate during the retract
    standing = (scn.t < d1) | (scn.t >= r0 + 0.06)
    assert np.all(scn.travel[standing] < 1e-6)  # no travel while it plunges, dwells or retracts
    full = PAIRS["Al-Cu"].params("FSW").pin_length_mm + PAIRS["Al-Cu"].params("FSW").shoulder_plunge_mm
    assert scn.at("tool_depth", np.array([0.5 * (d0 + d1)]))[0] == pytest.approx(full)
    assert not scn.gas.any() and not scn.current.any()  # no arc, no shielding gas


@pytest.mark.parametrize("pair", ["Al-Cu", "Al-steel"])
def test_solid_state_stir_zone_hot_enough_to_stir_never_molten(pair):
    """The stir zone reaches 70-98 % of the aluminium's solidus (degC) and never melts; the steel or
    copper side stays far below its own melting point; the plate is still warm a second after the retract."""
    scn, heat = _run(pair, defects=[])
    solidus = min(scn.pair.a.melting_point_c, scn.pair.b.melting_point_c)
    traverse = (heat.step_times > scn.weld_start_s + 0.5) & (heat.step_times < scn.weld_end_s)
    peak_al = heat.peak_c[traverse, 0].max()
    assert 0.70 * solidus < peak_al < 0.98 * solidus, peak_al
    assert heat.peak_c[:, 1].max() < 0.7 * scn.pair.b.melting_point_c
    assert heat.melt.max() == 0.0
    after = np.searchsorted(heat.step_times, min(scn.extinction_s + 1.0, scn.duration_s - 0.01))
    assert heat.peak_c[after].max() > 150.0


def test_softening_lowers_the_torque_as_the_plate_heats(al_cu, al_cu_machine):
    """Power = cold-plate torque x softening: the torque falls through the dwell and stays below the cold value."""
    scn, heat = al_cu
    t = np.arange(al_cu_machine.shape[0]) / RATE
    d0, d1 = _during(scn, "dwell")
    torque = al_cu_machine[:, CH["torque"]]
    early = torque[(t > d0) & (t < d0 + 0.15)].mean()
    late = torque[(t > d1 - 0.15) & (t < d1)].mean()
    assert late < 0.85 * early
    w = (t > scn.weld_start_s + 0.5) & (t < scn.weld_end_s)
    assert torque[w].mean() < 0.8 * scn.params.torque_nm


def test_power_is_torque_times_omega_and_heat_input_follows(al_cu, al_cu_machine):
    scn, heat = al_cu
    t = np.arange(al_cu_machine.shape[0]) / RATE
    w = (t > scn.weld_start_s + 0.5) & (t < scn.weld_end_s - 0.1)
    mech = mechanical_power(al_cu_machine[w, CH["torque"]], al_cu_machine[w, CH["spindle_speed"]])
    absorbed = heat.power_at(t[w])
    assert PROCESS_EFFICIENCY["FSW"] * mech.mean() == pytest.approx(absorbed.mean(), rel=0.03)
    window = derive(al_cu_machine, "FSW", None)
    assert window.shape == (al_cu_machine.shape[0], len(WINDOW_CHANNELS))
    np.testing.assert_allclose(window[:, WINDOW_CHANNELS.index("power")],
                               mechanical_power(al_cu_machine[:, 0], al_cu_machine[:, 2]), rtol=1e-9)
    hi = window[:, WINDOW_CHANNELS.index("heat_input")]
    v = al_cu_machine[:, CH["traverse_speed"]]
    moving = v >= 2.0
    np.testing.assert_allclose(hi[moving], 0.9 * window[moving, 5] / v[moving] / 1000.0, rtol=1e-9)
    assert np.all(hi[~moving] == 0.0)
    d0, d1 = _during(scn, "dwell")
    assert np.all(hi[(t > d0) & (t < d1)] == 0.0)  # the dwelling tool heats but lays no seam


def test_tool_line_in_the_microphone_spectrum(al_cu):
    """The pin's flats pass PIN_FLATS times a turn: a line at PIN_FLATS x f_rot in the traverse sound."""
    scn, heat = al_cu
    mic = acoustic_sim.simulate(scn, None, 16000.0, heat)
    t = np.arange(mic.size) / 16000.0
    a, b = _during(scn, "traverse")
    f, pxx = welch(mic[(t > a + 0.2) & (t < b)], fs=16000.0, nperseg=8192)
    f_line = PIN_FLATS * np.median(scn.spindle_rpm[(scn.t > a + 0.2) & (scn.t < b)]) / 60.0
    near = np.abs(f - f_line) < 2.0
    around = (np.abs(f - f_line) > 8.0) & (np.abs(f - f_line) < 30.0)
    assert 10 * np.log10(pxx[near].max() / np.median(pxx[around])) > 10.0


def _band_power(x, fs, lo, hi):
    f, p = welch(x, fs=fs, nperseg=min(1024, x.size))
    return float(p[(f >= lo) & (f <= hi)].sum())


def test_each_imperfection_leaves_its_signature():
    """Same seed with and without: tunnel -> force oscillation at f_rot; galling -> torque stick-slip
    and a squeal; flash -> more force and bright ribbons beside the bead; kissing bond -> the joint conducts less."""
    base = make_scenario("Al-Cu", "FSW", 9.0, SEED, defects=[])
    a, b = base.weld_start_s + 0.6, base.weld_end_s - 0.3
    mid = (a, a + 0.6 * (b - a))
    runs = {label: _run("Al-Cu", defects=[DefectEvent(label, *mid)], duration=9.0) for label in FSW_DEFECTS}
    clean = _run("Al-Cu", defects=[], duration=9.0)
    machine = {k: machine_sim.simulate(*v, RATE) for k, v in {**runs, "none": clean}.items()}
    t = np.arange(machine["none"].shape[0]) / RATE
    w = (t > mid[0] + 0.1) & (t < mid[1] - 0.1)
    f_rot = float(np.median(clean[0].spindle_rpm[(clean[0].t > mid[0]) & (clean[0].t < mid[1])])) / 60.0

    def force_line(k):
        return _band_power(machine[k][w, CH["axial_force"]], RATE, f_rot - 2, f_rot + 2)

    assert force_line("tunnel") > 4.0 * force_line("none")
    assert machine["flash"][w, CH["axial_force"]].mean() > 1.1 * machine["none"][w, CH["axial_force"]].mean()

    def slip(k):
        return _band_power(machine[k][w, CH["torque"]], RATE, 30.0, 80.0)

    assert slip("galling") > 5.0 * slip("none")
    mic = {k: acoustic_sim.simulate(*(runs[k] if k != "none" else clean)[:1], None, 16000.0,
                                    (runs[k] if k != "none" else clean)[1]) for k in ("galling", "none")}
    tm = np.arange(mic["none"].size) / 16000.0
    wm = (tm > mid[0]) & (tm < mid[1])
    assert _band_power(mic["galling"][wm], 16000.0, 1500, 3500) > 2.0 * _band_power(mic["none"][wm], 16000.0, 1500, 3500)
    assert machine["kissing_bond"][w, CH["plunge_depth"]].mean() < machine["none"][w, CH["plunge_depth"]].mean() - 0.15
    # kissing bond: heat crosses the joint less -> the copper side (b) is colder behind the tool
    kb_heat, clean_heat = runs["kissing_bond"][1], clean[1]
    late = (clean_heat.step_times > mid[1] - 0.2) & (clean_heat.step_times < mid[1] + 0.3)
    assert kb_heat.peak_c[late, 1].mean() < clean_heat.peak_c[late, 1].mean() - 5.0
    # flash: bright ribbons outside the bead's retreating edge (side a, left) in the frames after it formed
    frames = {k: video_sim.simulate(*(runs[k] if k != "none" else clean)[:1], None,
                                    (runs[k] if k != "none" else clean)[1], 250.0, (64, 64), 0.75).frames
              for k in ("flash", "none")}
    i = -1  # the last frame: the flashed segment has left the shoulder
    diff = frames["flash"][i].astype(float) - frames["none"][i].astype(float)  # same noise draws: 0 elsewhere
    rows, cols = np.nonzero(diff > 25.0)
    assert rows.size >= 5 and np.all(cols < 32) and np.all(rows > 0.55 * 64)  # beside the bead, behind the tool


def test_simulated_fsw_recording_is_labelled_in_the_fsw_taxonomy(tmp_path):
    import h5py

    run = simulate_run("Al-steel", "FSW", 0, 3, SimConfig(missing_prob=0.0, gap_prob=0.0), duration_s=7.0)
    assert set(run.streams) == {"video", "thermal", "acoustic", "fsw_machine"}  # no arc current/voltage
    assert run.streams["fsw_machine"].clock_offset_s == 0.0  # the machine's clock is the recording's
    path = write_run(run, tmp_path / "r.h5")
    with h5py.File(path, "r") as h5:
        assert [s.decode() if isinstance(s, bytes) else s for s in h5["labels"].attrs["phase_names"]] == list(FSW_PHASES)
        assert list(h5["streams/fsw_machine"].attrs["channel_names"]) == list(CHANNELS)
        hi = h5["truth/heat_input"][:]
    moving = run.scenario.travel >= 2.0
    assert hi[moving].min() > 0.05 and np.all(hi[~moving] == 0.0)  # kJ/mm only while the tool travels
    # the weld-level trace reads the machine: seam position from the traverse speed, tool-in-plate as "arc on"
    from weldfusion.datasets.reader import Recording
    from weldfusion.tools.welds.process import process_trace

    with Recording(path) as rec:
        trace = process_trace(rec, nominal_speed_mm_s=5.0)
    assert trace.sensor == "fsw_machine" and trace.position_source == "traverse_speed channel"
    assert trace.ignition_s == pytest.approx(run.scenario.ignition_s, abs=0.05)  # 0.05 mm into the plate
    end = run.scenario.weld_end_s
    assert float(trace.at(end)) == pytest.approx(float(run.scenario.at("torch_x", np.array([end]))[0]), abs=1.0)
    assert np.nanmax(trace.channels["torque"]) > 1.0 and trace.arc_on.any()
    # the classic band monitor judges the traverse only: the cold tool's plunge and dwell are no violation
    from weldfusion.recipes.tree import load_recipe
    from weldfusion.tools.welds.limits import limit_events

    events = limit_events(trace, load_recipe("al-steel_fsw").limits, trace.sensor)
    assert all(e.start_s >= run.scenario.weld_start_s and e.modalities == {"fsw_machine": 1.0} for e in events)


def test_fsw_recipe_model_reads_the_machine_and_labels_in_fsw_names(tmp_path):
    from torch.utils.data import default_collate
    from weldfusion.datasets.windows import WindowDataset
    from weldfusion.recipes.tree import load_recipe
    from weldfusion.tools.benchmarks.stream import untrained
    from weldfusion.tools.streaming.engine import EagerBackend
    from weldfusion.tools.streaming.onnx_backend import OnnxBackend
    from weldfusion.tools.streaming.onnx_export import export_onnx

    cfg = SimConfig(duration_s=(6.0, 6.0), video_rate=100.0, thermal_rate=20.0, acoustic_rate=8000.0,
                    missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)
    path = write_run(simulate_run("Al-Cu", "FSW", 0, 3, cfg), tmp_path / "fsw.h5")
    recipe = load_recipe("al-cu_fsw")
    assert recipe.data.taxonomy.phases == FSW_PHASES and recipe.data.taxonomy.defects == FSW_DEFECTS
    trained = untrained(recipe, path)
    assert trained.info.modality("fsw_machine").shape == (len(WINDOW_CHANNELS), 400)
    assert "electrical" not in trained.info.names
    ds = WindowDataset(path, trained.recipe.data, norm=trained.norm)
    phases = {FSW_PHASES[int(ds[i]["phase"])] for i in range(len(ds)) if int(ds[i]["phase"]) >= 0}
    assert {"plunge", "dwell", "traverse", "retract"} <= phases
    item = default_collate([ds[len(ds) // 2]])
    assert bool(item["present"][0, trained.info.names.index("fsw_machine")])
    # the machine fills the knowledge guidance's process parameters: no arc current/voltage, traverse speed, heat input
    assert trained.model.params_source == trained.info.names.index("fsw_machine")
    traverse = next(i for i in range(len(ds)) if FSW_PHASES[int(ds[i]["phase"])] == "traverse")
    params = dict(zip(trained.info.params, ds.raw_window(traverse).params, strict=True))
    assert params["current"] == 0.0 and params["voltage"] == 0.0
    assert params["travel_speed"] > 2.0 and 0.05 < params["heat_input"] < 2.0
    # the encoder's band powers: a 20 Hz force oscillation (the rotation line) lands in the 12-30 Hz band
    import torch

    enc = trained.model.encoders["fsw_machine"]
    t = torch.arange(400) / 1000.0
    x = torch.zeros(1, len(WINDOW_CHANNELS), 400)
    x[0, 1] = torch.sin(2 * torch.pi * 20.0 * t)
    bands = enc.summary_features(x)[0, -len(WINDOW_CHANNELS) * 4:].reshape(len(WINDOW_CHANNELS), 4)
    assert int(bands[1].argmax()) == 1 and float(bands[1, 1] - bands[1, 3]) > 3.0
    inputs = {k: item[k].numpy() for k in (*trained.info.names, "present", "params", "pair")}
    ort = OnnxBackend(export_onnx(trained.model, trained.info, tmp_path / "fsw.onnx"))
    a, b = EagerBackend(trained.model).predict(inputs), ort.predict(inputs)
    for key in ("phase_probs", "defect_probs"):
        np.testing.assert_allclose(b[key], a[key], atol=1e-5)


def test_machine_csv_export_maps_onto_the_five_channels(tmp_path):
    import pandas as pd
    from weldfusion.datasets.manifest import parse_manifest
    from weldfusion.sensors.fsw_machine.io import open_source
    from weldfusion.sensors.raw_source import IngestError

    n = 300
    df = pd.DataFrame({"t": np.arange(n) / 1000.0, "M [Nm]": 20.0, "Fz [kN]": np.linspace(5, 6, n), "n [rpm]": 1200.0,
                       "v [mm/s]": 3.0, "z [mm]": 2.9})
    df.to_csv(tmp_path / "fsw.csv", index=False)
    mapping = {"torque": {"column": "M [Nm]"}, "axial_force": {"column": "Fz [kN]"},
               "spindle_speed": {"column": "n [rpm]"}, "traverse_speed": {"column": "v [mm/s]"},
               "plunge_depth": {"column": "z [mm]"}}
    meta = {"recording_id": "r", "material_pair": "Al-Cu", "material_a": "AA6061", "material_b": "C11000", "process": "FSW"}

    def manifest(channels):
        return parse_manifest({**meta, "streams": {"fsw_machine": {"path": "fsw.csv", "time_column": "t",
                                                                     "channels": channels}}}, tmp_path / "recording.yaml")

    src = open_source(manifest(mapping))
    data = np.concatenate([b for b, _ in src.blocks_with_times()])
    assert src.modality == "fsw_machine" and src.channel_names == CHANNELS and data.shape == (n, 5)
    np.testing.assert_allclose(data[:, 1], np.linspace(5, 6, n), atol=1e-5)
    with pytest.raises(IngestError, match="'plunge_depth' is not mapped"):
        open_source(manifest({k: v for k, v in mapping.items() if k != "plunge_depth"}))


def test_fsw_recipes_band_the_machine_not_the_arc():
    from weldfusion.recipes.tree import load_recipe

    for name in ("al-steel_fsw", "al-cu_fsw"):
        assert set(load_recipe(name).limits.bands) == {"torque", "axial_force"}  # arc bands set to null are dropped
    assert "current" in load_recipe("fusion_all").limits.bands


def test_fsw_recording_round_trips_through_the_raw_exporter(tmp_path):
    """raw-export writes the machine data as CSV beside the camera files; ingest reads them back (FSW taxonomy)."""
    from weldfusion.datasets.ingest import ingest
    from weldfusion.datasets.raw_export import export_raw
    from weldfusion.datasets.reader import Recording

    cfg = SimConfig(duration_s=(6.0, 6.0), video_rate=50.0, thermal_rate=10.0, acoustic_rate=8000.0,
                    missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)
    src = write_run(simulate_run("Al-Cu", "FSW", 1, 4, cfg), tmp_path / "fsw.h5")
    manifest = export_raw(src, tmp_path / "raw", progress=False)
    assert (tmp_path / "raw" / "fsw_machine.csv").is_file()
    out = tmp_path / "back.h5"
    ingest(manifest, out, progress=False)
    with Recording(src) as a, Recording(out) as b:
        x, _ = a.read("fsw_machine", 0.0, 6.0)
        y, _ = b.read("fsw_machine", 0.0, 6.0)
        np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-4)
        assert {p.label for p in b.phases} >= {"plunge", "dwell", "retract"}
