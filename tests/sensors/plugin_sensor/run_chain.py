"""Runs the made-up ``strain`` sensor (this folder) through the whole chain; prints one JSON line.

Usage: ``python run_chain.py WORK_DIR`` (``tests/test_sensor_plugin.py`` runs it in a fresh
process). The only thing it does to weldfusion is what a new folder under ``sensors/`` does: the
folder holding ``strain/`` joins the ``weldfusion.sensors`` package path before anything else is
imported. ingest -> HDF5 (validated) -> windows -> model -> one training step -> streaming (the
live engine's windows and predictions compared with offline inference).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import weldfusion.sensors as sensors_pkg

HERE = Path(__file__).resolve().parent
sensors_pkg.__path__.append(str(HERE))  # what a folder sensors/strain/ would be
sys.path.insert(0, str(HERE.parents[1]))  # tests/: the test helpers

import dataclasses  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _stream_helpers import write_checkpoint  # noqa: E402
from torch.utils.data import default_collate  # noqa: E402
from weldfusion.datasets.config import DataConfig  # noqa: E402
from weldfusion.datasets.ingest import ingest  # noqa: E402
from weldfusion.datasets.normalize import compute_norm_stats  # noqa: E402
from weldfusion.datasets.validate import validate  # noqa: E402
from weldfusion.datasets.windows import WindowDataset  # noqa: E402
from weldfusion.fusion.build import build_loss, build_model  # noqa: E402
from weldfusion.recipes.config import from_dict  # noqa: E402
from weldfusion.recipes.tree import RecipeConfig  # noqa: E402
from weldfusion.sensors.registry import modality_names  # noqa: E402
from weldfusion.tools.streaming.build import build_engine  # noqa: E402
from weldfusion.tools.streaming.replay import Replay  # noqa: E402
from weldfusion.tools.training.loading import load_trained  # noqa: E402


def write_raw(folder: Path) -> Path:
    """DAQ CSV (2 kHz) + strain CSV (1 kHz, 12 ms clock offset) + phase labels + manifest."""
    rng = np.random.default_rng(0)
    t = np.arange(0, 3.0, 1 / 2000)
    on = (t > 0.5) & (t < 2.5)
    current = np.where(on, 180 + 5 * rng.standard_normal(len(t)), 0.0)
    voltage = np.where(on, 22 + rng.standard_normal(len(t)), 60.0)
    lines = ["t,I,U,wfs,v"] + [f"{a:.6f},{b:.3f},{c:.3f},8.0,{8.0 if o else 0.0}"
                               for a, b, c, o in zip(t, current, voltage, on, strict=True)]
    (folder / "daq.csv").write_text("\n".join(lines) + "\n")
    ts = np.arange(0, 3.0, 1 / 1000)
    strain = 40 * np.clip(ts - 0.5, 0, None) + rng.standard_normal(len(ts))  # thermal expansion after ignition
    (folder / "strain.csv").write_text("t,strain\n" + "\n".join(f"{a:.6f},{b:.4f}" for a, b in zip(ts, strain,
                                                                                                   strict=True)) + "\n")
    (folder / "phases.csv").write_text("start_s,end_s,label\n0,0.5,idle\n0.5,0.7,arc_start\n0.7,2.4,deposition\n"
                                       "2.4,2.5,arc_end\n2.5,3.0,idle\n")
    (folder / "recording.yaml").write_text(
        "recording_id: plug\nmaterial_pair: Al-steel\nmaterial_a: AA6061\nmaterial_b: DC04\nprocess: GMAW\n"
        "streams:\n"
        "  electrical: {path: daq.csv, time_column: t, channels: {current: I, voltage: U, wire_feed: wfs,"
        " travel_speed: v}}\n"
        "  strain: {path: strain.csv, time_column: t, time_offset_s: 0.012}\n"
        "labels: {phases: phases.csv}\n")
    return folder / "recording.yaml"


def main(work: Path) -> dict:
    report: dict = {"modalities": list(modality_names())}
    rec = work / "data" / "plug.h5"
    rec.parent.mkdir(parents=True)
    ingest(write_raw(work), rec, progress=False)
    report["validate"] = validate(rec)
    data = {"path": str(rec.parent), "hop_s": 0.2,
            "modalities": {"video": None, "thermal": None, "acoustic": None, "electrical": {"length": 80},
                           "strain": {"length": 40}}}
    cfg = from_dict(DataConfig, data, prefix="data")
    ds = WindowDataset(rec, cfg)
    norm = compute_norm_stats(ds, 64, progress=False)
    ds.set_norm(norm)
    item = ds[5]
    report["strain_shape"] = list(item["strain"].shape)
    report["present"] = dict(zip(ds.modality_names, item["present"].tolist(), strict=True))
    # first strain sample of window 5 against the raw file: t0 + 0 on the recording clock = file time - 0.012
    raw = ds.raw_window(5)
    report["strain_t0"] = float(raw.t0)
    report["strain_first_raw"] = float(raw.modalities["strain"].data[0, 0])
    model_cfg = {"dim": 16, "fusion_heads": 2, "modality_dropout": 0.0, "other": {"strain": {"hidden": 4}}}
    recipe = from_dict(RecipeConfig, {"data": data, "model": model_cfg})
    torch.manual_seed(0)
    model = build_model(recipe.model, ds.info)
    loss_fn = build_loss(recipe.loss, ds.info)
    batch = default_collate([ds[i] for i in range(8)])
    model.train()
    terms = loss_fn(model(batch), batch)
    terms["total"].backward()
    grads = [p.grad for p in model.encoders["strain"].parameters()]
    report["loss_finite"] = bool(torch.isfinite(terms["total"]))
    report["strain_grad"] = float(sum(g.abs().sum() for g in grads if g is not None))
    torch.optim.SGD(model.parameters(), lr=0.01).step()
    # streaming: the live engine over a replay of the recording == offline inference
    recipe_data = dataclasses.asdict(recipe)
    ck = write_checkpoint(work / "plug.pt", recipe_data)
    trained = load_trained(ck)
    offline = {}
    eval_ds = WindowDataset(rec, dataclasses.replace(trained.recipe.data, hop_s=0.1), norm=trained.norm)
    for i in range(len(eval_ds)):
        b = default_collate([eval_ds[i]])
        with torch.inference_mode():
            offline[round(float(b["t0"][0]), 6)] = trained.model(b)["phase_probs"][0].numpy()
    results = []
    with Replay(rec, names=trained.info.names) as replay:
        engine = build_engine(trained, replay, hop_s=0.1)
        engine.run(replay.packets(), on_result=results.append)
    both = [r for r in results if round(r.t0, 6) in offline]
    report["stream_windows"] = len(both)
    report["stream_max_diff"] = max(float(np.abs(r.raw_phase_probs - offline[round(r.t0, 6)]).max()) for r in both)
    report["stream_strain_present"] = sum(bool(r.present[trained.info.names.index("strain")]) for r in both)
    return report


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
