"""``weldfusion bench baselines``: MS-STAN fusion vs the comparison networks, side by side, same inputs.

Builds the models of the packaged recipes (``fusion_all``, ``baseline_r2plus1d18``,
``baseline_cnn_lstm``, ``baseline_transformer``) for the demo window layout
(:func:`~weldfusion.tools.benchmarks.model.demo_info`: video 16x64x64, thermal 8x40x64, acoustic 6400,
electrical 7x800), in eval mode with random weights (speed does not depend on them), and feeds
them the same seeded all-present batches. Under ``torch.inference_mode`` with
``--model-threads`` CPU threads, the models are timed in turn inside every round (so a shared
machine's load drifts hit all alike) and the median per model is reported:

- ``model.ms_per_window.<name>.b1``: one window per forward (what a live monitor pays per hop);
  ``.b1_native`` the same with PyTorch's native CPU kernels instead of oneDNN's
  (:mod:`~weldfusion.tools.streaming.batch_one`: the live monitor runs whichever is faster for its model);
- ``model.windows_per_s.<name>.b32``: throughput at batch 32;
- ``model.gflops.<name>``: floating-point operations per window counted by
  ``torch.utils.flop_counter`` (matrix products, convolutions, attention; not element-wise ops),
  with the fused transformer fast path off so that its attention is counted;
- ``model.ms_per_window.<name>.torchscript.b1`` (CPU): the same model as the frozen TorchScript trace
  that ``stream`` runs by default (:mod:`~weldfusion.tools.streaming.torchscript_backend`), for the
  fusion model and the CNN+LSTM, with ``model.speedup.fusion_all_torchscript_vs_cnn_lstm[_torchscript].b1``;
- ``model.gflop_per_s.<name>.b1``: GFLOPs per window / batch-1 time, i.e. how well each uses the CPU;
- ``model.params.<name>``, and the ratios ``model.speedup.fusion_all_vs_<name>.b1`` (time of the
  baseline / time of fusion) and ``model.compute_ratio.<name>_vs_fusion_all`` (GFLOPs).

The paper's anchors (He, Jin & Zou 2025, Table 5/8): MS-STAN 35 ms per frame on an A100;
transformer baselines about twice the compute (60-65 ms). R(2+1)D-18 sees only the video clip;
the fusion model reads all four modalities and must still be at least 2x faster per window.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode
from weldfusion.fusion.build import build_model
from weldfusion.recipes.tree import load_recipe
from weldfusion.tools.benchmarks.model import (
    demo_info,
    median_seconds,
    n_params,
    random_batch,
)
from weldfusion.tools.benchmarks.timing import torch_threads
from weldfusion.tools.streaming.batch_one import native_cpu_kernels
from weldfusion.tools.streaming.onnx_export import INPUT_EXTRA
from weldfusion.tools.streaming.torchscript_backend import TorchScriptBackend

MODELS: dict[str, str] = {
    "fusion_all": "fusion_all",
    "r2plus1d18": "baseline_r2plus1d18",
    "cnn_lstm": "baseline_cnn_lstm",
    "transformer": "baseline_transformer",
}
#: The MS-STAN fusion entry, named after its recipe: ``bench model`` reports ``model.*.fusion`` for
#: the default ``ModelConfig``, which is a different (finer, slower) network.
FUSION = "fusion_all"
#: Models also timed as frozen TorchScript traces (``model.ms_per_window.<name>.torchscript.b1``).
TRACED = (FUSION, "cnn_lstm")


def count_gflops(model: torch.nn.Module, batch: dict) -> float:
    """GFLOPs of one forward of ``model`` on ``batch`` divided by the batch size (fast paths off)."""
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model(batch)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return counter.get_total_flops() / 1e9 / batch["present"].shape[0]


def run(args) -> list[dict]:
    """Rows ``{"name", "value", "unit"}`` (names of docs/DESIGN.md)."""
    device = getattr(args, "device", "cpu")
    quick = getattr(args, "quick", False)
    reps, warm = (3, 1) if quick else (20, 3)
    reps32, warm32 = (1, 0) if quick else (4, 1)
    info = demo_info()
    with torch_threads(getattr(args, "model_threads", 2)):
        models = {}
        for name, recipe in MODELS.items():
            torch.manual_seed(0)
            models[name] = build_model(load_recipe(recipe).model, info).to(device).eval()
        b1 = random_batch(info, 1, device)
        b32 = random_batch(info, 32, device)
        rows = [{"name": f"model.params.{k}", "value": float(n_params(m)), "unit": "count"} for k, m in models.items()]
        gflops = {k: count_gflops(m, b1) for k, m in models.items()}
        rows += [{"name": f"model.gflops.{k}", "value": v, "unit": "GFLOP/window"} for k, v in gflops.items()]
        fns = {k: (lambda m=m: m(b1)) for k, m in models.items()}
        if device == "cpu":  # the frozen TorchScript path that ``stream`` runs (CPU only)
            args = tuple(b1[k] for k in (*info.names, *INPUT_EXTRA))
            for k in TRACED:
                module = TorchScriptBackend(models[k], info).module
                fns[f"{k}.torchscript"] = lambda module=module: module(*args)
        with torch.inference_mode():
            s1 = median_seconds(fns, reps, warm, device)
            s1_native = {}
            if device == "cpu":
                with native_cpu_kernels():
                    s1_native = median_seconds({k: fns[k] for k in models}, reps, warm, device)
            s32 = median_seconds({k: (lambda m=m: m(b32)) for k, m in models.items()}, reps32, warm32, device)
        rows += [{"name": f"model.ms_per_window.{k}.b1", "value": 1000.0 * v, "unit": "ms"} for k, v in s1.items()]
        rows += [{"name": f"model.ms_per_window.{k}.b1_native", "value": 1000.0 * v, "unit": "ms"}
                 for k, v in s1_native.items()]
        rows += [{"name": f"model.gflop_per_s.{k}.b1", "value": gflops[k] / s1[k], "unit": "GFLOP/s"} for k in models]
        rows += [{"name": f"model.windows_per_s.{k}.b32", "value": 32.0 / v, "unit": "windows/s"}
                 for k, v in s32.items()]
        for k in models:
            if k != FUSION:
                rows.append({"name": f"model.speedup.fusion_all_vs_{k}.b1", "value": s1[k] / s1[FUSION], "unit": "x"})
                rows.append({"name": f"model.compute_ratio.{k}_vs_fusion_all", "value": gflops[k] / gflops[FUSION],
                             "unit": "x"})
        if f"{FUSION}.torchscript" in s1:
            rows.append({"name": "model.speedup.fusion_all_torchscript_vs_cnn_lstm.b1",
                         "value": s1["cnn_lstm"] / s1[f"{FUSION}.torchscript"], "unit": "x"})
            rows.append({"name": "model.speedup.fusion_all_torchscript_vs_cnn_lstm_torchscript.b1",
                         "value": s1["cnn_lstm.torchscript"] / s1[f"{FUSION}.torchscript"], "unit": "x"})
    return rows
