"""``weldfusion bench model``: parameter count and per-window latency of the default model.

Builds the default :class:`~weldfusion.fusion.config.ModelConfig` for the demo window layout
(:func:`demo_info`), puts it in eval mode and times, under ``torch.inference_mode`` with
``torch.set_num_threads(--model-threads)``, the median of repeated forwards after a warm-up:
the whole model at batch 1 and 32, the model with the box head of ``model.localisation`` at batch
1 (``model.localisation.latency_ratio``: its time over the model's, both timed in the same loop),
and each encoder alone at batch 1 (video with and without adaptive frame sampling). Inputs are
random tensors of the demo shapes with all modalities present.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from functools import partial

import torch
from weldfusion.fusion.build import build_model
from weldfusion.fusion.config import ModelConfig
from weldfusion.tools.benchmarks.timing import demo_info, median_seconds, n_params, random_batch, torch_threads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-threads", type=int, default=2, help="torch CPU threads for the model benchmark")


def run(args) -> list[dict]:
    """Rows ``{"name", "value", "unit"}`` (names of docs/DESIGN.md)."""
    device = getattr(args, "device", "cpu")
    quick = getattr(args, "quick", False)
    reps, warm = (5, 2) if quick else (60, 10)
    reps32, warm32 = (2, 1) if quick else (8, 2)
    info = demo_info()
    with torch_threads(getattr(args, "model_threads", 2)):
        torch.manual_seed(0)
        cfg = ModelConfig()
        model = build_model(cfg, info).to(device).eval()
        torch.manual_seed(0)
        no_sampling_cfg = dataclasses.replace(cfg, video=dataclasses.replace(cfg.video, adaptive_sampling=False))
        video_full = build_model(no_sampling_cfg, info).encoders["video"].to(device).eval()
        torch.manual_seed(0)
        located = build_model(dataclasses.replace(cfg, localisation=dataclasses.replace(cfg.localisation, detection=True)),
                              info).to(device).eval()
        b1 = random_batch(info, 1, device)
        b32 = random_batch(info, 32, device)
        rows = [{"name": "model.params.fusion", "value": float(n_params(model)), "unit": "count"}]
        rows += [{"name": f"model.params.{name}_encoder", "value": float(n_params(enc)), "unit": "count"}
                 for name, enc in model.encoders.items()]
        calls: dict[str, Callable[[], object]] = {"fusion": lambda: model(b1), "fusion_localisation": lambda: located(b1)}
        for name, enc in model.encoders.items():
            calls[f"{name}_encoder"] = partial(enc, b1[name], b1["params"], b1["pair"])
        calls["video_encoder_no_sampling"] = partial(video_full, b1["video"], b1["params"], b1["pair"])
        with torch.inference_mode():
            ms = {k: 1000.0 * v for k, v in median_seconds(calls, reps, warm, device).items()}
            s32 = median_seconds({"fusion": lambda: model(b32)}, reps32, warm32, device)["fusion"]
        rows += [{"name": f"model.ms_per_window.{k}.b1", "value": v, "unit": "ms"} for k, v in ms.items()]
        rows.append({"name": "model.video_sampling.time_saved", "unit": "%",
                     "value": 100.0 * (1.0 - ms["video_encoder"] / ms["video_encoder_no_sampling"])})
        rows.append({"name": "model.windows_per_s.fusion.b32", "value": 32.0 / s32, "unit": "windows/s"})
        rows.append({"name": "model.localisation.latency_ratio", "unit": "x",
                     "value": ms["fusion_localisation"] / ms["fusion"]})
    return rows
