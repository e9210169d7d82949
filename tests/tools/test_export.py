"""ONNX export: exportable building blocks, ONNX Runtime == PyTorch, the export tool."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from weldfusion.tools import export as export_tool
from weldfusion.tools.streaming.build import build_engine
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.onnx_backend import OnnxBackend
from weldfusion.tools.streaming.onnx_export import (
    AvgPoolMatrix1d,
    ConvSpectrogram,
    example_inputs,
    export_onnx,
    weights_fingerprint,
)
from weldfusion.tools.streaming.parity import presence_masks
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.training.loading import load_trained

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("export_data")
    write_recording(d / "a.h5", "a", "Cu-SS", "GMAW", seed=2)
    write_recording(d / "b.h5", "b", "Al-steel", "GMAW", seed=3)
    out = tmp_path_factory.mktemp("export_ck")
    ck = write_checkpoint(out / "tiny.pt", tiny_recipe(d))
    trained = load_trained(ck)
    onnx_path = export_onnx(trained.model, trained.info, out / "tiny.onnx")
    return d, ck, trained, onnx_path


@pytest.mark.parametrize("win, n_fft, hop, power", [(400, 512, 160, 2.0), (64, 64, 16, 2.0), (100, 128, 25, 1.0)])
def test_conv_spectrogram_equals_torchaudio(win, n_fft, hop, power):
    ref = torchaudio.transforms.Spectrogram(n_fft=n_fft, win_length=win, hop_length=hop, power=power)
    x = torch.randn(2, 3, 4000)
    mine = ConvSpectrogram.from_torchaudio(ref)
    a, b = ref(x), mine(x)
    assert a.shape == b.shape
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4 * float(a.abs().max()))
    with pytest.raises(ValueError, match="cannot export"):
        ConvSpectrogram.from_torchaudio(torchaudio.transforms.Spectrogram(n_fft=64, center=False))


def test_matrix_pooling_equals_adaptive_pooling():
    for length, size in ((200, 8), (100, 7), (64, 16)):
        x = torch.randn(2, 5, length)
        torch.testing.assert_close(AvgPoolMatrix1d(size)(x), torch.nn.AdaptiveAvgPool1d(size)(x))


def test_onnx_equals_pytorch_for_every_presence_mask(tiny):
    _, _, trained, onnx_path = tiny
    ort = OnnxBackend(onnx_path)
    eager = EagerBackend(trained.model)
    masks = presence_masks(len(trained.info.names))
    assert len(masks) == 15 and all(m.any() for m in masks)
    for k, mask in enumerate(masks):
        inputs = example_inputs(trained.info, seed=k, present=mask)
        a, b = eager.predict(inputs), ort.predict(inputs)
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-5, err_msg=f"{key}, mask {mask}")
        absent = ~mask
        assert np.all(b["modality_weights"][0][absent] == 0)
    # absent modalities' inputs cannot change the output
    inputs = example_inputs(trained.info, seed=1, present=masks[0])
    other = dict(inputs)
    for name in trained.info.names[1:]:
        other[name] = inputs[name] * 5 + 1
    np.testing.assert_allclose(ort.predict(other)["phase_probs"], ort.predict(inputs)["phase_probs"], atol=1e-6)
    ort.check(trained.info, weights_fingerprint(trained.model))


def test_stream_with_onnx_matches_eager(tiny):
    d, _, trained, onnx_path = tiny
    out = {}
    for name, backend in (("eager", None), ("onnx", OnnxBackend(onnx_path))):
        rows = []
        with Replay(d / "a.h5", names=trained.info.names, stalls={"thermal": [(1.0, 1.8)]}) as replay:
            build_engine(trained, replay, hop_s=0.2, backend=backend).run(replay.packets(), on_result=rows.append)
        out[name] = rows
    assert [r.t0 for r in out["eager"]] == [r.t0 for r in out["onnx"]]
    assert any(not r.present.all() for r in out["onnx"])  # the stall is in there
    for a, b in zip(out["eager"], out["onnx"]):
        np.testing.assert_array_equal(a.present, b.present)
        np.testing.assert_allclose(b.phase_probs, a.phase_probs, atol=1e-5)
        np.testing.assert_allclose(b.defect_probs, a.defect_probs, atol=1e-5)


def test_onnx_backend_refuses_another_checkpoint(tiny, tmp_path):
    d, _, _, onnx_path = tiny
    other = load_trained(write_checkpoint(tmp_path / "other.pt", tiny_recipe(d), seed=5))
    with pytest.raises(ValueError, match="other weights"):
        OnnxBackend(onnx_path).check(other.info, weights_fingerprint(other.model))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        OnnxBackend(bad)


def test_export_tool_writes_verified_file_and_refuses_overwrite(tiny, tmp_path, capsys):
    _, ck, _, _ = tiny
    out = tmp_path / "m.onnx"
    assert export_tool.cli([str(ck), "--onnx", str(out)]) == 0
    assert "ONNX Runtime == PyTorch within" in capsys.readouterr().out
    assert out.is_file() and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    stamp = out.stat().st_mtime_ns
    assert export_tool.cli([str(ck), "--onnx", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err and "--force" in err
    assert out.stat().st_mtime_ns == stamp
    assert export_tool.cli([str(ck), "--onnx", str(out), "--force"]) == 0
    capsys.readouterr()
    assert export_tool.cli([str(tmp_path / "nope.pt"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.pt" in err and not (tmp_path / "x.onnx").exists()
    assert export_tool.cli([str(ck), "--onnx", str(tmp_path / "x.txt")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err


@pytest.mark.parametrize("seeded", [0, 3])
def test_a_box_head_is_exported_and_onnx_runtime_gives_its_boxes(tmp_path, seeded):
    """With a box head the export has three more outputs (the strongest frame's class logits, boxes
    and frame index) equal to the eager model's for every presence mask; the backend still serves
    the main three. With seeded queries too (their top-k token selection exports as TopK)."""
    import onnxruntime as ort
    from model_fixtures import tiny_config, tiny_info
    from weldfusion.fusion.build import build_model
    from weldfusion.fusion.config import LocalisationConfig
    from weldfusion.tools.streaming.onnx_export import BOX_OUTPUTS, INPUT_EXTRA

    info = tiny_info()
    torch.manual_seed(0)
    loc = LocalisationConfig(detection=True, queries=4, decoder_layers=1, decoder_heads=2, head_dim=16,
                             seeded_queries=seeded)
    model = build_model(tiny_config(localisation=loc), info).eval()
    path = export_onnx(model, info, tmp_path / "boxes.onnx", batch=2)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert names[3:] == list(BOX_OUTPUTS)
    example = example_inputs(info, batch=2)
    for mask in presence_masks(len(info.names))[:6]:
        feeds = {k: example[k] for k in (*info.names, *INPUT_EXTRA)}
        feeds["present"] = np.repeat(mask[None], 2, axis=0)
        got = dict(zip(names, session.run(None, feeds), strict=True))
        with torch.inference_mode():
            want = model({k: torch.from_numpy(v) for k, v in feeds.items()})
        pred = want.get("localisation", {}).get("video")
        if pred is None:  # no row with video: the eager model has no box output
            continue
        np.testing.assert_allclose(got["det_logits"][pred["rows"].numpy()], pred["det_logits"].numpy(), atol=1e-4)
        np.testing.assert_allclose(got["det_boxes"][pred["rows"].numpy()], pred["det_boxes"].numpy(), atol=1e-5)
        np.testing.assert_array_equal(got["det_frame_index"][pred["rows"].numpy()], pred["frame_index"].numpy())
    backend, eager = OnnxBackend(path), EagerBackend(model)
    feeds = {k: example[k] for k in (*info.names, *INPUT_EXTRA)}
    feeds["present"][1, info.names.index("video")] = False  # row 1 without video: no boxes
    got, want = backend.predict(feeds), eager.predict(feeds)
    assert set(got) == {"phase_probs", "defect_probs", "modality_weights", "boxes"} == set(want)
    assert got["boxes"][1] is None and want["boxes"][1] is None
    assert got["boxes"][0][0] == want["boxes"][0][0]  # the strongest frame
    np.testing.assert_allclose(got["boxes"][0][1], want["boxes"][0][1], atol=1e-4)
