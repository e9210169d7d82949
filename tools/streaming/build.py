"""Builder of a streaming session: trained checkpoint + replay -> :class:`StreamEngine`, and the
choice of its inference backend (:func:`build_backend`).

The only streaming code that reads configs (the recipe's ``data`` section for window settings).
"""

from __future__ import annotations

from pathlib import Path

from weldfusion.tools.streaming.decisions import M_OFF, N_ON, REFINE_DECAY, REFINE_WINDOW, alarms_for
from weldfusion.tools.streaming.defaults import BACKENDS, HOP_S
from weldfusion.tools.streaming.engine import EagerBackend, StreamEngine
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.streaming.window_assembler import WindowAssembler


def build_engine(trained, replay: Replay, *, hop_s: float = HOP_S, backend=None, timeout_s: float = 0.25,
                 alarm_on: float | None = None, alarm_off: float | None = None, n_on: int = N_ON,
                 m_off: int = M_OFF, refine_window: int = REFINE_WINDOW, refine_decay: float = REFINE_DECAY,
                 buffer_s: float | None = None) -> StreamEngine:
    """A :class:`StreamEngine` for ``trained`` (``tools.training.loading.Trained``) over ``replay``.

    ``backend`` defaults to the eager model. Alarms: :func:`~.decisions.alarms_for`.
    """
    info, data_cfg = trained.info, trained.recipe.data
    if buffer_s is None:
        buffer_s = timeout_s + hop_s + 1.0  # room for a paced run falling behind
    assembler = WindowAssembler.for_model(info, data_cfg, trained.norm, replay.headers, replay.meta,
                                          buffer_s=buffer_s, where=str(replay.path))
    alarms = alarms_for(info.defects, trained.thresholds, alarm_on=alarm_on, alarm_off=alarm_off, n_on=n_on,
                        m_off=m_off)
    return StreamEngine(backend or EagerBackend(trained.model, trained.info), assembler, info.phases, info.defects, hop_s,
                        origin_s=replay.origin_s, timeout_s=timeout_s, refine_window=refine_window,
                        refine_decay=refine_decay, alarms=alarms, headers=replay.headers)


def build_backend(trained, kind: str = "auto", *, onnx: Path | None = None, threads: int = 1):
    """(backend, note) for ``trained``: the inference path a stream runs, and how it was chosen.

    - ``onnx``: ONNX Runtime on the export ``onnx`` (checked to belong to the checkpoint) or, without
      a file, on an export made here from the checkpoint and kept only if it passes the parity
      check (:func:`~.onnx_parity.export_in_memory`, about 1 s);
    - ``torchscript``: the frozen trace of :mod:`~.torchscript_backend`, parity-checked;
    - ``eager``: the PyTorch model;
    - ``auto`` (default): the fastest that passes the parity check, in the order measured by
      ``weldfusion bench stream`` at batch 1 on 2 CPU cores (ONNX Runtime 1.8 ms, TorchScript
      4.1 ms, eager 6.8 ms per window): onnx, then torchscript, then eager; a model on another device
      than the CPU runs eager there.

    A backend asked for by name that cannot be built raises ``ValueError``; ``auto`` falls back and
    the note says why.
    """
    if kind not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {kind!r}")
    if onnx is not None:
        if kind not in ("auto", "onnx"):
            raise ValueError(f"--onnx runs the onnx backend, not {kind!r}")
        # lazy: ONNX Runtime is loaded only for the onnx backend
        from weldfusion.tools.streaming.onnx_backend import OnnxBackend
        from weldfusion.tools.streaming.onnx_export import weights_fingerprint

        backend = OnnxBackend(onnx, threads=threads)
        backend.check(trained.info, weights_fingerprint(trained.model))
        return backend, f"ONNX Runtime on {onnx}"
    if kind == "eager":
        return EagerBackend(trained.model, trained.info), "as asked"
    if next(trained.model.parameters()).device.type != "cpu":
        if kind != "auto":
            raise ValueError(f"the {kind} backend runs on the CPU; the model is on {next(trained.model.parameters()).device}")
        return EagerBackend(trained.model, trained.info), "the model is not on the CPU"
    # lazy: exporter / tracer only when these backends are built
    from weldfusion.tools.streaming.onnx_parity import export_in_memory
    from weldfusion.tools.streaming.torchscript_backend import build_checked

    builders = {"onnx": lambda: export_in_memory(trained.model, trained.info, threads=threads),
                "torchscript": lambda: build_checked(trained.model, trained.info)[0]}
    failed = []
    for name in (("onnx", "torchscript") if kind == "auto" else (kind,)):
        try:
            backend = builders[name]()
        except ValueError as err:
            if kind != "auto":
                raise
            failed.append(f"{name}: {err}")
            continue
        return backend, "parity-checked against eager" + (f" ({'; '.join(failed)})" if failed else "")
    return EagerBackend(trained.model, trained.info), "; ".join(failed)
