"""Weld-level results behind ``weldfusion predict`` (and the event/segment metrics of ``evaluate``).

Modules, one job each:

- :mod:`.process` — the recording's process data on one time base: seam position in mm along the
  weld (integrated travel speed, or a nominal speed), heat input, arc on.
- :mod:`.timeline` — the model over one recording's windows, refined and turned into events with
  the live engine's own decision code, and the phase timeline as segments.
- :mod:`.limits` — classic tolerance-band monitoring of current, voltage, wire feed, travel speed,
  heat input (events with ``source=limits``).
- :mod:`.verdict` — the recipe's acceptance rules applied to a weld's events.
- :mod:`.metrics` — segmental F1 / edit score of the phase timeline, event recall/precision,
  onset and position errors, false alarms per minute.
- :mod:`.figure`, :mod:`.report` — the timeline figure and the self-contained HTML report.
- :mod:`.predict` — a folder of recordings -> ``welds.csv``, ``events.csv``, ``segments.csv``,
  ``welds/<id>.png``, ``report.html``.
"""
