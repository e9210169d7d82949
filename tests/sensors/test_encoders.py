"""Per-sensor encoders and the encoder registry: shapes sized from DataInfo, signal paths, new sensors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from model_fixtures import ELECTRICAL, random_batch, tiny_config, tiny_info
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.build import build_model
from weldfusion.fusion.config import AcousticEncoderConfig, ElectricalEncoderConfig
from weldfusion.fusion.encoder_base import Encoder, encoder_spec
from weldfusion.sensors.acoustic.encoder import AcousticEncoder, band_matrix
from weldfusion.sensors.electrical.encoder import ElectricalEncoder, linear_trend, short_circuit_stats, trend_snr
from weldfusion.sensors.thermal.encoder import ThermalEncoder
from weldfusion.sensors.video.encoder import VideoEncoder

pytestmark = pytest.mark.usefixtures("single_thread")


def _kwargs(section) -> dict:
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}


def _build(name: str, info: DataInfo, dim: int = 16, **overrides):
    cfg = tiny_config(dim=dim)
    spec = encoder_spec(name)
    return spec.encoder(shape=info.modality(name), info=info, dim=dim, **{**_kwargs(getattr(cfg, name)), **overrides})


def _run(enc, info, name, b=3):
    batch = random_batch(info, b)
    return enc(batch[name], batch["params"], batch["pair"])


def test_registry_finds_every_encoder():
    expected = {"video": VideoEncoder, "thermal": ThermalEncoder, "acoustic": AcousticEncoder,
                "electrical": ElectricalEncoder}
    for name, cls in expected.items():
        assert encoder_spec(name).encoder is cls and issubclass(cls, Encoder)
    with pytest.raises(KeyError, match="no encoder"):
        encoder_spec("lidar")


@pytest.mark.parametrize(("name", "train_tokens", "eval_tokens"), [("video", 3, 3), ("thermal", 4, 4)])
def test_image_encoder_shapes(name, train_tokens, eval_tokens):
    torch.manual_seed(0)
    info = tiny_info()
    enc = _build(name, info)
    out = _run(enc, info, name)
    assert out["tokens"].shape == (3, train_tokens, 16) and out["pooled"].shape == (3, 16)
    enc.eval()
    with torch.no_grad():
        out = _run(enc, info, name)
    assert out["tokens"].shape == (3, eval_tokens, 16)
    assert out["attention"]["frame_index"].shape == (3, eval_tokens)
    with pytest.raises(ValueError, match="expected windows of shape"):
        enc(torch.zeros(1, 2, 3, 4), torch.zeros(1, 4), torch.zeros(1, dtype=torch.long))


def test_image_encoder_sizes_from_data_info():
    """Other frame counts and sizes need no code change."""
    torch.manual_seed(0)
    shape = ModalityShape("video", "image", (10, 20, 28), rate=25.0)
    info = dataclasses.replace(tiny_info(), modalities=(shape,))
    enc = _build("video", info).eval()
    with torch.no_grad():
        out = enc(torch.randn(2, 10, 20, 28), torch.randn(2, 4), torch.tensor([0, 2]))
    assert out["tokens"].shape == (2, 5, 16) and out["attention"]["spatial"].shape == (2, 5, 3, 4)


@pytest.mark.parametrize("ae", [False, True])
def test_acoustic_encoder_shapes(ae):
    torch.manual_seed(0)
    info = tiny_info(ae=ae)
    enc = _build("acoustic", info)
    out = _run(enc, info, "acoustic")
    frames = 1600 // 40 + 1  # 10 ms hop at 4 kHz
    assert out["tokens"].shape == (3, (frames + 1) // 2, 16) and out["pooled"].shape == (3, 16)
    assert (enc.ae is not None) == ae and enc.mic is not None
    torch.testing.assert_close(out["attention"]["temporal"].sum(1), torch.ones(3))


def test_acoustic_ae_only_high_band_path():
    """An 'ae' channel alone uses only the band-limited path, and ignores content below its band."""
    torch.manual_seed(0)
    shape = ModalityShape("acoustic", "signal", (1, 1600), ("ae",), rate=4000.0)
    info = dataclasses.replace(tiny_info(), modalities=(shape,))
    enc = _build("acoustic", info).eval()
    assert enc.mic is None and enc.ae is not None
    t = torch.arange(1600) / 4000.0
    high = torch.sin(2 * torch.pi * 1500 * t).reshape(1, 1, -1)  # inside 0.25..1.0 x Nyquist = 500..2000 Hz
    low = 3 * torch.sin(2 * torch.pi * 60 * t).reshape(1, 1, -1)  # below the band
    with torch.no_grad():
        e_high, e_low = enc.ae_band_energy(high).sum(), enc.ae_band_energy(low).sum()
        out = enc(high, torch.zeros(1, 4), torch.zeros(1, dtype=torch.long))
    assert e_low < 1e-3 * e_high
    assert out["tokens"].shape == (1, 21, 16)
    level = enc.ae_level(torch.full((1, 1, 1600), 2.0))  # an RMS-envelope input: its level is kept
    assert level.shape == (1, 1, 1, 41) and torch.allclose(level, torch.tensor(2.0))


def test_band_matrix_covers_band():
    m = band_matrix(256, 1_000_000.0, 125_000.0, 500_000.0, 8)
    assert m.shape == (129, 8)
    torch.testing.assert_close(m.sum(0), torch.ones(8))
    freqs = torch.arange(129) * 1e6 / 256
    assert (freqs[m.sum(1) > 0] >= 125_000 - 1e-6).all()


def test_electrical_encoder_shapes_and_short_circuit_stats():
    torch.manual_seed(0)
    info = tiny_info()
    enc = _build("electrical", info)
    out = _run(enc, info, "electrical")
    n = round(0.4 * 1000 / 50.0)  # token_ms 50 in the tiny config
    assert out["tokens"].shape == (3, n + 1, 16) and out["pooled"].shape == (3, 16)
    assert enc.sc_index == ELECTRICAL.index("short_circuit")
    # 5 short circuits of 10 samples in 200 samples (0.4 s): 12.5 onsets/s, duty 0.25
    sc = torch.full((1, 200), -0.3)
    for start in (10, 50, 90, 130, 170):
        sc[0, start : start + 10] = 2.0
    stats = short_circuit_stats(sc, 0.4)
    torch.testing.assert_close(stats, torch.tensor([[torch.log1p(torch.tensor(12.5)).item(), 0.25]]))


def test_trend_snr_separates_a_quiet_ramp_from_noise():
    torch.manual_seed(0)
    s = 800
    u = torch.linspace(-0.5, 0.5, s)
    quiet_ramp = 0.04 * u + 5e-4 * torch.randn(s)  # a 4 % set-point ramp on a quiet channel
    noisy_flat = 0.5 * torch.randn(s)  # short-circuit-like noise, no ramp
    constant = torch.full((s,), 0.3)  # a set point at rest
    x = torch.stack([quiet_ramp, noisy_flat, constant])[None]  # (1, 3, S)
    trend = linear_trend(x)
    torch.testing.assert_close(trend[0, 0], torch.tensor(0.04), atol=2e-4, rtol=0)
    snr = trend_snr(x, trend)[0]
    assert snr[0] > 20  # 0.04 / (5e-4 + 1e-3 floor) ~ 27
    assert snr[1] < 0.5  # slope of pure noise ~ its standard error
    torch.testing.assert_close(trend_snr(-x, -trend), snr[None])  # a ramp down is as strong as a ramp up
    assert snr[2] < 1e-4  # constant channel: 0 (up to rounding), not 0/0
    # the switch sizes the summary token: 4 statistics per channel with it, 3 without
    info = tiny_info()
    on, off = _build("electrical", info), _build("electrical", info, trend_snr=False)
    assert on.stats[0].in_features - off.stats[0].in_features == len(ELECTRICAL)


def test_electrical_without_short_circuit_channel():
    shape = ModalityShape("electrical", "signal", (4, 100), ELECTRICAL[:4], rate=250.0)
    info = dataclasses.replace(tiny_info(), modalities=(shape,))
    enc = _build("electrical", info)
    assert enc.sc_index is None
    out = enc(torch.randn(2, 4, 100), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))
    assert out["tokens"].shape[0] == 2 and out["pooled"].shape == (2, 16)


def test_encoder_configs_validate():
    with pytest.raises(ValueError, match="ae_band_fraction"):
        AcousticEncoderConfig(ae_band_fraction=(0.5, 0.2))
    with pytest.raises(ValueError, match="kernel_sizes"):
        ElectricalEncoderConfig(kernel_sizes=(4,))


@pytest.fixture
def strain_sensor(monkeypatch):
    """The made-up sensor folder of the plug-in test joins ``weldfusion.sensors`` for one test."""
    import weldfusion.sensors as pkg
    from weldfusion.sensors import registry

    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(Path(__file__).parent / "plugin_sensor")])
    registry.modalities.cache_clear()
    registry.part.cache_clear()
    yield
    monkeypatch.undo()
    registry.modalities.cache_clear()
    registry.part.cache_clear()


def test_new_sensor_needs_no_fusion_change(strain_sensor):
    base = tiny_info(names=("video", "electrical"))
    strain = ModalityShape("strain", "signal", (2, 50), ("s1", "s2"), rate=125.0)
    info = dataclasses.replace(base, modalities=(*base.modalities, strain))
    torch.manual_seed(0)
    model = build_model(tiny_config(other={"strain": {"hidden": 4}}), info)
    assert model.encoders["strain"].conv.out_channels == 4
    batch = random_batch(info, 2)
    out = model(batch)
    assert out["modality_weights"].shape == (2, 3) and out["phase_logits"].shape == (2, 6)
    with pytest.raises(ValueError, match="unknown config key"):
        build_model(tiny_config(other={"strain": {"hiden": 4}}), info)
