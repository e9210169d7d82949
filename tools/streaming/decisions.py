"""What a model's per-window outputs mean over time — the one implementation shared by the live
engine (``weldfusion stream``) and the weld-level results (``weldfusion predict``):

- phase and defect probabilities refined over the last windows (paper Eq. 49,
  :class:`weldfusion.fusion.refine.PredictionRefiner`);
- the refined defect probabilities drive the debounced, hysteretic alarms (:mod:`.alarms`), whose
  thresholds default to the defect thresholds chosen on validation (:func:`alarms_for`).

Feed windows in time order, one call per window that had at least one sensor present.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from weldfusion.fusion.refine import PredictionRefiner
from weldfusion.tools.streaming.alarms import AlarmEvent, DefectAlarms
from weldfusion.tools.streaming.defaults import M_OFF, N_ON, P_OFF_RATIO

#: Eq. 49 defaults: windows averaged and the decay of their weights.
REFINE_WINDOW, REFINE_DECAY = 3, 0.6


def alarms_for(defects: Sequence[str], thresholds: Sequence[float], *, alarm_on: float | None = None,
               alarm_off: float | None = None, n_on: int = N_ON, m_off: int = M_OFF) -> DefectAlarms | None:
    """Alarms for a model: open above ``alarm_on`` (default: its validation ``thresholds``, clipped to
    [0.01, 0.99]) and close below ``alarm_off`` (default :data:`P_OFF_RATIO` x the opening threshold)."""
    if not defects:
        return None
    p_on = alarm_on if alarm_on is not None else [min(max(t, 0.01), 0.99) for t in thresholds]
    if alarm_off is not None:
        p_off = alarm_off
    elif alarm_on is not None:
        p_off = P_OFF_RATIO * alarm_on
    else:
        p_off = [P_OFF_RATIO * p for p in p_on]
    return DefectAlarms(defects, p_on, p_off, n_on, m_off)


class HopDecisions:
    """Refinement + alarms of one stream of windows (one recording)."""

    def __init__(self, alarms: DefectAlarms | None, refine_window: int = REFINE_WINDOW,
                 refine_decay: float = REFINE_DECAY) -> None:
        self.alarms = alarms
        self.phase = PredictionRefiner(refine_window, refine_decay)
        self.defect = PredictionRefiner(refine_window, refine_decay)

    def update(self, t: float, phase_probs: np.ndarray, defect_probs: np.ndarray, weights: np.ndarray | None = None,
               present: np.ndarray | None = None, sensors: Sequence[str] = ()
               ) -> tuple[np.ndarray, np.ndarray, list[AlarmEvent]]:
        """Raw (P,) and (D,) probabilities of the window ending at ``t`` (s) -> refined (P,), (D,) and
        the alarm events of this hop. ``weights`` (M,) / ``present`` (M,) of the window's sensors
        ``sensors`` let the alarms track their evidence (held alarms, :mod:`.alarms`)."""
        ref_p = self.phase.update(np.asarray(phase_probs))
        ref_d = self.defect.update(np.asarray(defect_probs))
        events = self.alarms.update(t, ref_d, weights, present, sensors) if self.alarms is not None else []
        return ref_p, ref_d, events

    @property
    def open_alarms(self) -> tuple[str, ...]:
        return self.alarms.open_alarms if self.alarms is not None else ()

    def intervals(self) -> list[dict]:
        """Every alarm so far (see :meth:`DefectAlarms.intervals`)."""
        return self.alarms.intervals() if self.alarms is not None else []
