"""The recipe's acceptance rules (``accept:``, :mod:`weldfusion.recipes.weld`) applied to a weld."""

from __future__ import annotations

from collections.abc import Sequence

from weldfusion.recipes.weld import AcceptConfig, AcceptRule
from weldfusion.tools.welds.timeline import Event


def verdict(events: Sequence[Event], defects: Sequence[str], cfg: AcceptConfig) -> tuple[str, list[str]]:
    """(``"accept"`` | ``"reject"``, reasons) for the events of one weld.

    A model event counts for its class when its mean probability is at least the rule's
    ``min_prob``; the weld is rejected when a class has more counted events than ``max_count`` or
    a longer total than ``max_total_mm``. Classes in ``report_only`` never reject; a class with no
    rule rejects on any event. Limits events reject only with ``limits_reject``.
    """
    reasons = []
    for name in defects:
        if name in cfg.report_only:
            continue
        rule = cfg.rules.get(name, AcceptRule(max_count=0))
        mine = [e for e in events if e.source == "model" and e.label == name and not e.mean_prob < rule.min_prob]
        total = sum(e.length_mm for e in mine)
        if rule.max_count is not None and len(mine) > rule.max_count:
            reasons.append(f"{name}: {len(mine)} event(s) > {rule.max_count} allowed")
        if rule.max_total_mm is not None and total > rule.max_total_mm:
            reasons.append(f"{name}: {total:.1f} mm > {rule.max_total_mm:g} mm allowed")
    if cfg.limits_reject:
        for e in events:
            if e.source == "limits":
                reasons.append(f"limits: {e.label} {e.start_s:.2f}-{e.end_s:.2f} s")
    return ("reject" if reasons else "accept"), reasons
