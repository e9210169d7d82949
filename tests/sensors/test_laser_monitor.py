"""The laser cell's process monitor (``sensors/laser_monitor``): reader, simulator, coupling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from weldfusion.datasets import simulator_checks as checks
from weldfusion.datasets.manifest import parse_manifest
from weldfusion.datasets.simulated import SimConfig, simulate_run
from weldfusion.sensors.laser_monitor import CHANNELS
from weldfusion.sensors.laser_monitor.io import open_source
from weldfusion.sensors.raw_source import IngestError
from weldfusion.sensors.video.simulate import ROOT_ROW

META = {"recording_id": "r", "material_pair": "Ti-Ni", "material_a": "Ti6Al4V", "material_b": "Ni200",
        "process": "laser"}
MAP = {"laser_power": {"column": "P [W]"}, "plasma": {"column": "P_diode"}, "temperature": {"column": "T_diode"},
       "back_reflection": {"column": "R_diode"}}


def _manifest(tmp_path, **stream):
    return parse_manifest({**META, "streams": {"laser_monitor": stream}}, tmp_path / "recording.yaml")


def test_csv_export_maps_onto_the_four_channels(tmp_path):
    n = 500
    t = np.arange(n) / 10_000.0
    df = pd.DataFrame({"t": t, "P [W]": np.full(n, 2000.0), "P_diode": np.linspace(0, 1, n), "T_diode": 0.5,
                       "R_diode": 0.25, "extra": 7})
    df.to_csv(tmp_path / "lwm.csv", index=False)
    src = open_source(_manifest(tmp_path, path="lwm.csv", time_column="t", channels=MAP))
    data = np.concatenate([b for b, _ in src.blocks_with_times()])
    assert src.modality == "laser_monitor" and src.channel_names == CHANNELS and data.shape == (n, 4)
    assert src.rate == pytest.approx(10_000.0)
    np.testing.assert_allclose(data[:, 0], 2000.0)
    np.testing.assert_allclose(data[:, 1], np.linspace(0, 1, n), atol=1e-6)


def test_csv_with_a_missing_channel_or_a_foreign_one_is_one_clear_error(tmp_path):
    pd.DataFrame({"t": [0.0, 1e-4], "P [W]": [1.0, 1.0]}).to_csv(tmp_path / "lwm.csv", index=False)
    with pytest.raises(IngestError, match="'plasma' is not mapped"):
        open_source(_manifest(tmp_path, path="lwm.csv", time_column="t", channels={"laser_power": {"column": "P [W]"}}))
    with pytest.raises(IngestError, match="not a laser_monitor channel"):
        open_source(_manifest(tmp_path, path="lwm.csv", time_column="t", channels={**MAP, "current": {"column": "P [W]"}}))


CFG = SimConfig(duration_s=(6.0, 6.0), video_rate=250.0, thermal_rate=20.0, acoustic_rate=8000.0,
                electrical_rate=2000.0, missing_prob=0.0, gap_prob=0.0, max_clock_offset_s=0.0)


def test_only_laser_runs_have_a_monitor_and_it_reads_the_beam_power():
    gmaw = simulate_run("Al-steel", None, 0, 2, CFG, defects=[])
    assert "laser_monitor" not in gmaw.streams
    run = simulate_run("Ti-Ni", None, 0, 2, CFG, defects=[])
    s, scn = run.streams["laser_monitor"], run.scenario
    assert s.channel_names == list(CHANNELS) and s.data.shape == (round(6.0 * CFG.laser_monitor_rate), 4)
    t = np.arange(s.data.shape[0]) / s.rate
    mid = (t > scn.weld_start_s + 0.3) & (t < scn.weld_end_s - 0.3)
    nominal = np.interp(t[mid], scn.t, scn.current * scn.voltage)
    np.testing.assert_allclose(s.data[mid, 0], nominal, rtol=0.02)  # the controller's measured beam power
    assert np.abs(s.data[t < scn.ignition_s - 0.05, :2]).max() < 0.1  # beam off: no power, no plume


def test_plasma_photodiode_and_camera_see_the_same_plume():
    run = simulate_run("Ti-Ni", None, 0, 2, CFG, defects=[])
    scn, v, m = run.scenario, run.streams["video"], run.streams["laser_monitor"]
    h, w = v.data.shape[1:]
    y = int(ROOT_ROW * h - 10)  # the plume's centre above the spot (64 px camera)
    plume_px = v.data[:, y - 3:y + 4, w // 2 - 3:w // 2 + 4].astype(float).mean(axis=(1, 2))  # (N,)
    k = (np.arange(v.data.shape[0]) / v.rate)
    sel = (k > scn.weld_start_s + 0.3) & (k < scn.weld_end_s - 0.3)
    per_frame = m.data[: (m.data.shape[0] // 40) * 40, 1].reshape(-1, 40)[:, :20].mean(axis=1)  # each exposure
    n = min(per_frame.size, plume_px.size)
    r = np.corrcoef(per_frame[:n][sel[:n]], plume_px[:n][sel[:n]])[0, 1]
    assert r > 0.5, r


@pytest.mark.parametrize("factor", [0.5, 4.0])
def test_monitor_band_powers_agree_at_another_rate(factor):
    assert checks.band_power_difference("Ti-Ni", "laser_monitor", factor) <= 1.0


def test_laser_recipe_model_reads_the_monitor_and_exports_to_onnx(tmp_path):
    from torch.utils.data import default_collate
    from weldfusion.datasets.simulated import write_run
    from weldfusion.datasets.windows import WindowDataset
    from weldfusion.recipes.tree import load_recipe
    from weldfusion.tools.benchmarks.stream import untrained
    from weldfusion.tools.streaming.engine import EagerBackend
    from weldfusion.tools.streaming.onnx_backend import OnnxBackend
    from weldfusion.tools.streaming.onnx_export import export_onnx

    cfg = SimConfig(**{**CFG.__dict__, "duration_s": (3.0, 3.0), "video_rate": 100.0})
    path = write_run(simulate_run("Ti-Ni", None, 0, 3, cfg, defects=[]), tmp_path / "laser.h5")
    trained = untrained(load_recipe("ti-ni_laser"), path)
    assert trained.info.modality("laser_monitor").shape == (4, 800)
    ds = WindowDataset(path, trained.recipe.data, norm=trained.norm)
    item = default_collate([ds[len(ds) // 2]])
    assert bool(item["present"][0, trained.info.names.index("laser_monitor")])
    inputs = {k: item[k].numpy() for k in (*trained.info.names, "present", "params", "pair")}
    ort = OnnxBackend(export_onnx(trained.model, trained.info, tmp_path / "laser.onnx"))
    a, b = EagerBackend(trained.model).predict(inputs), ort.predict(inputs)
    for key in ("phase_probs", "defect_probs"):
        np.testing.assert_allclose(b[key], a[key], atol=1e-5)
