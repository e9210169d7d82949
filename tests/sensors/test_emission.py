"""The acoustic-emission sensor (``sensors/emission``): its own stream, reader, window and encoder."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.datasets.manifest import parse_manifest
from weldfusion.datasets.simulated import SimConfig, simulate_run, write_run
from weldfusion.datasets.windows import WindowDataset
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.tree import load_recipe
from weldfusion.sensors.emission.encoder import EmissionEncoder, hit_features
from weldfusion.sensors.emission.io import open_source
from weldfusion.sensors.raw_source import IngestError
from weldfusion.sensors.scenario import DefectEvent


def _manifest(tmp_path, **stream):
    meta = {"recording_id": "r", "material_pair": "Al-steel", "material_a": "AA6061", "material_b": "DC04",
            "process": "GMAW"}
    return parse_manifest({**meta, "streams": {"emission": stream}}, tmp_path / "recording.yaml")


def test_mono_mhz_wav_is_one_ae_channel_in_volts(tmp_path):
    x = np.random.default_rng(0).normal(0, 0.01, 20_000).astype(np.float32)
    sf.write(tmp_path / "ae.wav", x, 1_000_000, subtype="FLOAT")
    src = open_source(_manifest(tmp_path, path="ae.wav"))
    got = np.concatenate(list(src.make_blocks()))
    assert src.modality == "emission" and src.channel_names == ("ae",) and src.units == "V"
    assert src.rate == 1_000_000 and src.sample_shape == ()
    np.testing.assert_array_equal(got, x)


def test_truncated_wav_is_refused(tmp_path):
    sf.write(tmp_path / "ae.wav", np.zeros(50_000, np.float32), 1_000_000, subtype="FLOAT")
    data = (tmp_path / "ae.wav").read_bytes()
    (tmp_path / "ae.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="ae.wav"):
        src = open_source(_manifest(tmp_path, path="ae.wav"))
        list(src.make_blocks())


def test_hits_are_counted_off_the_envelope():
    x = torch.zeros(2, 1, 1600)
    x[0, 0, [100, 101, 700, 1200]] = 5.0  # three hits (the first spans two bins)
    f = hit_features(x + 0.001 * torch.randn(2, 1, 1600, generator=torch.Generator().manual_seed(0)), 0.4, 6.0)
    assert f.shape == (2, 1, 3)
    assert torch.expm1(f[0, 0, 0]) * 0.4 == pytest.approx(3.0, abs=1e-3)  # hits per second x window
    assert torch.expm1(f[1, 0, 0]) * 0.4 == pytest.approx(0.0, abs=1e-3)  # noise only: no hit
    assert f[0, 0, 1] > 4.0 and f[1, 0, 1] < 1.0  # peak level


def test_encoder_shapes():
    shape = ModalityShape("emission", "signal", (1, 1600), ("ae",), rate=4000.0)
    info = DataInfo(modalities=(shape,), phases=("idle",), defects=("crack",), pairs=("Al-steel",), window_s=0.4)
    enc = EmissionEncoder(shape, info, dim=16)
    out = enc(torch.randn(3, 1, 1600), torch.zeros(3, 4), torch.zeros(3, dtype=torch.long))
    assert out["tokens"].shape == (3, 8 + 1, 16) and out["pooled"].shape == (3, 16)


@pytest.fixture(scope="module")
def ae_recording(tmp_path_factory):
    cfg = SimConfig(duration_s=(3.0, 3.0), video_rate=50.0, thermal_rate=10.0, acoustic_rate=8000.0,
                    electrical_rate=1000.0, ae_rate=200_000.0, missing_prob=0.0, gap_prob=0.0)
    base = simulate_run("Ti-Ni", None, 0, 1, cfg, defects=[])
    s = base.scenario.weld_start_s + 0.2
    run = simulate_run("Ti-Ni", None, 0, 1, cfg, defects=[DefectEvent("crack", s, s + 0.8, seed=3)])
    return write_run(run, tmp_path_factory.mktemp("ae") / "ae.h5"), (s, s + 0.8)


def test_emission_is_in_the_data_only_when_the_recipe_names_it(ae_recording):
    path, (s, e) = ae_recording
    plain = WindowDataset(path, load_recipe("fusion_all").data)
    assert "emission" not in plain.info.names
    data = load_recipe("fusion_all", ["data.modalities.emission={}"]).data
    ds = WindowDataset(path, data)
    m = ds.info.modality("emission")
    assert m.shape == (1, 1600) and m.channel_names == ("ae",) and m.rate == pytest.approx(4000.0)
    assert ds.info.modality("acoustic").channel_names == ("mic",)  # the microphone stays at its own rate
    # the crack's hits raise the AE envelope inside the event, against a window before it
    t0 = np.array([t for _, t in ds.window_index])
    peak = [float(ds[int(i)]["emission"].max()) for i in (np.argmin(np.abs(t0 - (s + 0.2))), np.argmin(np.abs(t0 - (s - 0.8))))]
    assert peak[0] > 3 * peak[1], peak


def test_simulator_refuses_an_ae_rate_below_the_hits_band():
    with pytest.raises(InvalidInput, match="ae_rate"):
        SimConfig(ae_rate=20_000.0)
