"""Metrics, plots and the `evaluate` tool."""

from __future__ import annotations

import numpy as np
import pytest
from weldfusion.tools.training import metrics as M
from weldfusion.tools.training.evaluation import evaluate_predictions, get_path
from weldfusion.tools.training.plots import plot_confusion, plot_curves, plot_reliability

PHASES = ("idle", "weld", "end")
DEFECTS = ("pores", "crack")


def test_phase_metrics_values():
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 2, 2]] * 0.8 + 0.2 / 3  # one idle window predicted as weld
    m = M.phase_metrics(y, probs, PHASES)
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["per_class"]["idle"]["recall"] == 0.5 and m["per_class"]["weld"]["recall"] == 1.0
    assert m["macro_f1"] == pytest.approx(np.mean([2 / 3, 0.8, 1.0]))
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 2]]
    assert m["per_class"]["end"]["auc"] == 1.0
    with pytest.raises(ValueError, match="does not match"):
        M.phase_metrics(y, probs[:, :2], PHASES)


def test_thresholds_chosen_on_validation_maximise_f1():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.05, 0.1, 0.3, 0.2, 0.35, 0.4])  # all positives caught at 0.2 (one FP)
    t = M.best_f1_threshold(y, p)
    assert 0.1 < t <= 0.2
    pred = p >= t
    assert pred.tolist() == [False, False, True, True, True, True]
    assert M.best_f1_threshold(np.zeros(4), np.linspace(0, 1, 4)) == 0.5  # no positives: default


def test_defect_metrics_mean_over_informative_classes():
    y = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    probs = np.array([[0.9, 0.1], [0.4, 0.2], [0.1, 0.1], [0.2, 0.1]])
    m = M.defect_metrics(y, probs, [0.5, 0.5], DEFECTS)
    assert m["per_class"]["pores"]["recall"] == 0.5 and m["per_class"]["pores"]["precision"] == 1.0
    assert m["per_class"]["crack"]["support"] == 0 and m["per_class"]["crack"]["auc"] is None
    assert m["mean_f1"] == pytest.approx(2 / 3)  # crack never occurs nor is predicted: left out
    m2 = M.defect_metrics(y, probs, [0.3, 0.05], DEFECTS)  # crack predicted everywhere: counts with F1 0
    assert m2["mean_f1"] == pytest.approx(0.5)


def test_ece_and_bins():
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    ok = np.array([True, True, True, False])
    cal = M.calibration(conf, ok, n_bins=10)
    assert cal["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert sum(b["count"] for b in cal["bins"]) == 4 and len(cal["bins"]) == 10
    assert M.calibration(np.ones(3), np.ones(3, bool))["ece"] == 0.0


def test_monitor_score():
    assert M.monitor_score({"macro_f1": 0.8}, {"mean_f1": 0.6}, "combined") == pytest.approx(0.7)
    assert M.monitor_score({"macro_f1": 0.8}, {"mean_f1": None}, "phase_macro_f1") == 0.8
    with pytest.raises(ValueError, match="unknown monitor"):
        M.monitor_score({"macro_f1": 0.8}, {"mean_f1": 0.6}, "loss")


def _fake_predictions(n=60, seed=0):
    rng = np.random.default_rng(seed)
    phase = rng.integers(0, 3, n)
    logits = np.eye(3)[phase] * 3 + rng.normal(size=(n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    defects = (rng.random((n, 2)) < 0.3).astype(np.float32)
    dprobs = np.clip(defects * 0.7 + rng.random((n, 2)) * 0.3, 0, 1)
    pairs = np.array(["Al-steel", "Ti-Ni"] * (n // 2), dtype=object)
    return {"phase": phase, "phase_probs": probs, "defects": defects, "defect_probs": dprobs,
            "pair": (pairs == "Ti-Ni").astype(np.int64), "t0": np.arange(n) * 0.2,
            "recording_id": np.array([f"r{i % 4}" for i in range(n)], dtype=object), "material_pair": pairs,
            "process": np.array(["GMAW"] * n, dtype=object)}


def test_metrics_tree_has_the_stable_names():
    tree = evaluate_predictions(_fake_predictions(), PHASES, DEFECTS, [0.5, 0.5])
    for name in ("phase.accuracy", "phase.macro_f1", "defect.mean_f1", "calibration.ece",
                 "per_pair.Al-steel.phase.macro_f1", "per_pair.Ti-Ni.defect.mean_f1", "per_process.GMAW.phase.accuracy",
                 "phase.per_class.idle.recall", "phase.per_class.idle.auc", "defect.per_class.pores.auc"):
        assert isinstance(get_path(tree, name), float), name
    assert tree["n_windows"] == 60 and tree["n_recordings"] == 4
    with pytest.raises(KeyError, match="per_pair.Cu-SS"):
        get_path(tree, "per_pair.Cu-SS.phase.macro_f1")


def test_plots_write_pngs(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_phase_macro_f1": 0.5 + e / 10,
                "val_defect_mean_f1": 0.4 + e / 10, "val_score": 0.45 + e / 10, "lr": 1e-3 / e} for e in (1, 2, 3)]
    tree = evaluate_predictions(_fake_predictions(), PHASES, DEFECTS, [0.5, 0.5])
    for path in (plot_curves(history, tmp_path / "curves.png"),
                 plot_confusion(tree["phase"]["confusion_matrix"], list(PHASES), tmp_path / "confusion.png"),
                 plot_reliability(tree["calibration"], tmp_path / "reliability.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "curves.png", "reliability.png"]


# -- the `evaluate` command on a tiny trained run ------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from _training_data import train_tiny_run

    return train_tiny_run(tmp_path_factory.mktemp("evalrun"))


@pytest.mark.slow
def test_evaluate_writes_metrics_plots_and_report(tiny_run, tmp_path, capsys):
    import json

    from weldfusion.tools.evaluate import cli
    from weldfusion.tools.training.checkpoint import load_checkpoint

    run, data = tiny_run
    out = tmp_path / "eval"
    assert cli([str(run), "--data", str(data), "--out", str(out), "--quiet"]) == 0
    assert "phase accuracy" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["confusion.png", "metrics.json", "predictions.csv",
                                                     "reliability.png", "report.md"]
    m = json.loads((out / "metrics.json").read_text())
    for name in ("phase.accuracy", "phase.macro_f1", "calibration.ece", "latency.ms_per_window",
                 "phase.per_class.deposition.recall", "latency.ms_per_window_batched"):
        assert isinstance(get_path(m, name), float), name
    assert get_path(m, "defect.mean_f1") is None or isinstance(get_path(m, "defect.mean_f1"), float)
    splits = {s: (run / "splits" / f"{s}.txt").read_text() for s in ("train", "val", "test")}
    assert m["split"] == "test" and all(f"{rid}.h5" in splits["test"] for rid in m["recordings"])
    for pair in m["per_pair"]:
        assert isinstance(get_path(m, f"per_pair.{pair}.phase.macro_f1"), float)
    assert set(m["per_process"]) <= {"GMAW", "laser"}
    thresholds = load_checkpoint(run / "best.pt")["thresholds"]
    assert list(m["thresholds"].values()) == pytest.approx(thresholds)
    assert m["n_windows"] == sum(m["per_pair"][p]["n_windows"] for p in m["per_pair"])
    assert "| phase | macro-F1 |" in (out / "report.md").read_text()
    # weld level: the phase timeline as segments, defects as events (labelled test recordings)
    for name in ("segments.f1@0.10", "segments.f1@0.25", "segments.f1@0.50", "segments.edit"):
        assert 0.0 <= get_path(m, name) <= 1.0, name
    assert m["events"]["n_labelled"] == sum(c["n_labelled"] for c in m["events"]["per_class"].values())
    assert isinstance(get_path(m, "events.false_alarms_per_min"), float)
    assert "limits_events" in m and "## Weld level" in (out / "report.md").read_text()

    every = tmp_path / "all"
    assert cli([str(run / "best.pt"), "--data", str(data), "--out", str(every), "--split", "all", "--quiet"]) == 0
    m_all = json.loads((every / "metrics.json").read_text())
    assert m_all["n_recordings"] == 9 and m_all["n_windows"] > m["n_windows"]


@pytest.mark.slow
def test_evaluate_bad_input_leaves_no_output(tiny_run, tmp_path, capsys):
    from weldfusion.tools.evaluate import cli

    run, data = tiny_run
    out = tmp_path / "eval"
    assert cli([str(tmp_path / "missing.pt"), "--data", str(data), "--out", str(out)]) == 2
    assert "missing.pt" in capsys.readouterr().err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    assert cli([str(junk), "--data", str(data), "--out", str(out)]) == 2
    assert cli([str(run), "--data", str(tmp_path / "nodata"), "--out", str(out)]) == 2
    assert "nodata" in capsys.readouterr().err
    assert not out.exists()
