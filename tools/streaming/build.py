"""Builder of a streaming session: trained checkpoint + replay -> :class:`StreamEngine`.

The only streaming code that reads configs (the recipe's ``data`` section for window settings).
"""

from __future__ import annotations

from weldfusion.tools.streaming.alarms import DefectAlarms
from weldfusion.tools.streaming.engine import EagerBackend, StreamEngine
from weldfusion.tools.streaming.replay import Replay
from weldfusion.tools.streaming.window_assembler import WindowAssembler

#: Alarm defaults: close below this share of the opening threshold; hops to open / to close.
P_OFF_RATIO = 0.75
N_ON, M_OFF = 2, 3


def build_engine(trained, replay: Replay, *, hop_s: float = 0.1, backend=None, timeout_s: float = 0.25,
                 alarm_on: float | None = None, alarm_off: float | None = None, n_on: int = N_ON,
                 m_off: int = M_OFF, refine_window: int = 3, refine_decay: float = 0.6,
                 buffer_s: float | None = None) -> StreamEngine:
    """A :class:`StreamEngine` for ``trained`` (``tools.training.loading.Trained``) over ``replay``.

    ``backend`` defaults to the eager model. Alarms open above ``alarm_on`` (default: the defect
    thresholds chosen on validation, stored in the checkpoint) and close below ``alarm_off``
    (default: ``P_OFF_RATIO`` x the opening threshold).
    """
    info, data_cfg = trained.info, trained.recipe.data
    if buffer_s is None:
        buffer_s = timeout_s + hop_s + 1.0  # room for a paced run falling behind
    assembler = WindowAssembler.for_model(info, data_cfg, trained.norm, replay.headers, replay.meta,
                                          buffer_s=buffer_s, where=str(replay.path))
    p_on = alarm_on if alarm_on is not None else [min(max(t, 0.01), 0.99) for t in trained.thresholds]
    if alarm_off is not None:
        p_off = alarm_off
    elif alarm_on is not None:
        p_off = P_OFF_RATIO * alarm_on
    else:
        p_off = [P_OFF_RATIO * p for p in p_on]
    alarms = DefectAlarms(info.defects, p_on, p_off, n_on, m_off) if info.defects else None
    return StreamEngine(backend or EagerBackend(trained.model), assembler, info.phases, info.defects, hop_s,
                        origin_s=replay.origin_s, timeout_s=timeout_s, refine_window=refine_window,
                        refine_decay=refine_decay, alarms=alarms, headers=replay.headers)
