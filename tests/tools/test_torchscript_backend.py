"""Inference backends of ``stream``: TorchScript equal to eager for every presence mask and over a stream;
``--backend auto`` picks the fastest that passes the parity check and falls back when one fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from weldfusion.tools import stream as stream_tool
from weldfusion.tools.streaming.build import build_backend, build_engine
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.onnx_backend import OnnxBackend
from weldfusion.tools.streaming.onnx_export import example_inputs
from weldfusion.tools.streaming.parity import presence_masks
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.streaming.torchscript_backend import TorchScriptBackend, build_checked
from weldfusion.tools.training.loading import load_trained

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("ts_data")
    write_recording(d / "a.h5", "a", "Cu-SS", "GMAW", seed=2)
    write_recording(d / "b.h5", "b", "Al-steel", "GMAW", seed=3)
    ck = write_checkpoint(tmp_path_factory.mktemp("ts_ck") / "tiny.pt", tiny_recipe(d))
    return d, ck, load_trained(ck)


def test_torchscript_equals_eager_for_every_presence_mask(tiny):
    _, _, trained = tiny
    ts, worst = build_checked(trained.model, trained.info)
    assert worst <= 1e-5
    eager = EagerBackend(trained.model)
    for k, mask in enumerate(presence_masks(len(trained.info.names))):
        inputs = example_inputs(trained.info, seed=50 + k, present=mask)
        a, b = eager.predict(inputs), ts.predict(inputs)
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-5, err_msg=f"{key}, mask {mask}")
        assert np.all(b["modality_weights"][0][~mask] == 0)
    with pytest.raises(ValueError, match="batch 1, got 2"):
        ts.predict(example_inputs(trained.info, batch=2))


def test_stream_with_torchscript_matches_eager(tiny):
    d, _, trained = tiny
    out = {}
    for name, backend in (("eager", EagerBackend(trained.model)), ("torchscript", TorchScriptBackend(trained.model, trained.info))):
        rows = []
        with Replay(d / "a.h5", names=trained.info.names, stalls={"thermal": [(1.0, 1.8)]}) as replay:
            build_engine(trained, replay, hop_s=0.2, backend=backend).run(replay.packets(), on_result=rows.append)
        out[name] = rows
    assert len(out["eager"]) == len(out["torchscript"]) > 5
    assert any(not r.present.all() for r in out["torchscript"])  # the stall is in there
    for a, b in zip(out["eager"], out["torchscript"]):
        assert a.t0 == b.t0
        np.testing.assert_array_equal(a.present, b.present)
        np.testing.assert_allclose(b.phase_probs, a.phase_probs, atol=1e-5)
        np.testing.assert_allclose(b.defect_probs, a.defect_probs, atol=1e-5)
        assert a.alarms == b.alarms


def test_backend_choice(tiny):
    _, _, trained = tiny
    backend, how = build_backend(trained, "auto")
    assert backend.name == "onnx" and "parity-checked" in how  # the fastest at batch 1 (bench stream)
    assert build_backend(trained, "torchscript")[0].name == "torchscript"
    assert build_backend(trained, "eager")[0].name == "eager"
    with pytest.raises(ValueError, match="must be one of"):
        build_backend(trained, "fast")
    with pytest.raises(ValueError, match="runs the onnx backend"):
        build_backend(trained, "torchscript", onnx=Path("m.onnx"))


def _off_by(cls, monkeypatch, delta=0.01):
    real = cls.predict
    monkeypatch.setattr(cls, "predict", lambda self, inputs: {k: v + delta for k, v in real(self, inputs).items()})


def test_auto_falls_back_when_parity_fails(tiny, monkeypatch):
    _, _, trained = tiny
    _off_by(OnnxBackend, monkeypatch)
    backend, how = build_backend(trained, "auto")
    assert backend.name == "torchscript" and "onnx: ONNX Runtime differs from the eager model" in how
    with pytest.raises(ValueError, match="differs"):
        build_backend(trained, "onnx")
    _off_by(TorchScriptBackend, monkeypatch)
    backend, how = build_backend(trained, "auto")
    assert backend.name == "eager" and "torchscript: TorchScript differs" in how
    with pytest.raises(ValueError, match="differs"):
        build_backend(trained, "torchscript")


def test_stream_cli_says_which_backend(tiny, capsys):
    d, ck, _ = tiny
    for asked, ran in (([], "onnx"), (["--backend", "torchscript"], "torchscript"), (["--backend", "eager"], "eager")):
        assert stream_tool.main([str(ck), str(d / "b.h5"), "--quiet", "--hop-s", "0.5", *asked]) == 0
        out = capsys.readouterr().out
        assert f"inference: {ran} (" in out and f"({ran}, 1 thread)" in out, out
    assert stream_tool.cli([str(ck), str(d / "b.h5"), "--backend", "eager", "--onnx", str(ck)]) == 2
    assert "--onnx runs the onnx backend, not --backend eager" in capsys.readouterr().err
