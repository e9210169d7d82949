"""The batch-1 CPU kernel choice: restored after use, measured per model, and the same answer either way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _stream_helpers import tiny_recipe, write_checkpoint
from _training_data import write_recording
from weldfusion.tools.streaming.batch_one import faster_native, native_cpu_kernels
from weldfusion.tools.streaming.engine import EagerBackend
from weldfusion.tools.streaming.example_inputs import example_inputs
from weldfusion.tools.training.loading import load_trained

pytestmark = pytest.mark.usefixtures("single_thread")


def test_native_kernels_are_switched_on_only_inside_the_block():
    before = torch.backends.mkldnn.enabled
    with native_cpu_kernels():
        assert torch.backends.mkldnn.enabled is False
    assert torch.backends.mkldnn.enabled == before
    with native_cpu_kernels(False):
        assert torch.backends.mkldnn.enabled == before
    with pytest.raises(RuntimeError), native_cpu_kernels():
        raise RuntimeError("a failing forward")
    assert torch.backends.mkldnn.enabled == before


def test_faster_native_times_both_and_decides_by_the_margin():
    calls = []

    def forward():
        calls.append(torch.backends.mkldnn.enabled)

    native, ms = faster_native(forward, trials=3, warm=1)
    assert set(ms) == {"native", "onednn"} and all(v >= 0 for v in ms.values())
    assert calls.count(True) == calls.count(False) == 4  # warm-up + trials, interleaved
    assert native == (ms["native"] < 0.97 * ms["onednn"])


def test_eager_backend_gives_the_same_answer_with_either_kernels(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    write_recording(d / "a.h5", "a", "Al-steel", "GMAW", seed=1)
    trained = load_trained(write_checkpoint(tmp_path / "tiny.pt", tiny_recipe(d)))
    backend = EagerBackend(trained.model, trained.info)
    assert backend.kernels in ("native", "onednn") and set(backend.kernel_ms) == {"native", "onednn"}
    inputs = example_inputs(trained.info, batch=1, seed=3)
    outs = {}
    for native in (False, True):
        backend.native_kernels = native
        outs[native] = backend.predict(inputs)
    for k in ("phase_probs", "defect_probs", "modality_weights"):
        np.testing.assert_allclose(outs[True][k], outs[False][k], atol=1e-5)
    assert EagerBackend(trained.model).native_kernels is False  # without the layout: oneDNN, not measured
