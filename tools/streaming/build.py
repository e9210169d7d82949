"""Builder of a streaming session: trained checkpoint + replay -> :class:`StreamEngine`.

The only streaming code that reads configs (the recipe's ``data`` section for window settings).
"""

from __future__ import annotations

from weldfusion.tools.streaming.decisions import M_OFF, N_ON, REFINE_DECAY, REFINE_WINDOW, alarms_for
from weldfusion.tools.streaming.defaults import HOP_S
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
    return StreamEngine(backend or EagerBackend(trained.model), assembler, info.phases, info.defects, hop_s,
                        origin_s=replay.origin_s, timeout_s=timeout_s, refine_window=refine_window,
                        refine_decay=refine_decay, alarms=alarms, headers=replay.headers)
