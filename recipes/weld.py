"""Typed config of the weld-level results (sections ``accept:``, ``limits:`` and ``seam:`` of a recipe).

``accept`` encodes a plant's quality level: per defect class a maximum number of events, a
maximum total length along the seam (mm) and the smallest event probability that counts; classes
listed in ``report_only`` are reported but never reject a weld. The defaults are an example level
in the spirit of ISO 5817 (no cracks, no lack of fusion, no burn-through; porosity and undercut
tolerated up to a count / length; spatter only reported) — a plant sets its own.

``limits`` are the tolerance bands of classic weld monitoring on the process data: per channel a
nominal value (``null``: the weld's own median while the arc burns) and a band (± percent of the
nominal and/or absolute ``low``/``high``), judged while the arc burns except the first
``ignore_start_s`` and the last ``ignore_end_s`` (start and crater-fill ramps); a violation
lasting at least ``min_duration_s`` is a ``limits`` event.

``seam`` gives the travel speed used when a recording has no travel-speed channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AcceptRule:
    """Acceptance of one defect class: the weld is rejected when its events of this class (each with
    mean probability >= ``min_prob``) are more than ``max_count`` or longer than ``max_total_mm`` together."""

    max_count: int | None = 0
    max_total_mm: float | None = None
    min_prob: float = 0.0

    def __post_init__(self) -> None:
        if self.max_count is not None and self.max_count < 0:
            raise ValueError(f"max_count must be >= 0 or null, got {self.max_count}")
        if self.max_total_mm is not None and not self.max_total_mm >= 0:
            raise ValueError(f"max_total_mm must be >= 0 or null, got {self.max_total_mm}")
        if not 0.0 <= self.min_prob <= 1.0:
            raise ValueError(f"min_prob must be in [0, 1], got {self.min_prob}")


def _default_rules() -> dict[str, AcceptRule]:
    return {
        "crack": AcceptRule(max_count=0),
        "lack_of_fusion": AcceptRule(max_count=0),
        "burn_through": AcceptRule(max_count=0),
        "porosity": AcceptRule(max_count=2, max_total_mm=10.0),
        "undercut": AcceptRule(max_count=None, max_total_mm=15.0),
    }


@dataclass
class AcceptConfig:
    """Acceptance rules per defect class (classes without a rule and not report-only: any event rejects)."""

    rules: dict[str, AcceptRule] = field(default_factory=_default_rules)
    report_only: list[str] = field(default_factory=lambda: ["spatter"])
    limits_reject: bool = False  # a limits violation alone rejects the weld


@dataclass
class Band:
    """A tolerance band on one process channel."""

    nominal: float | None = None
    tolerance_pct: float | None = 15.0
    low: float | None = None
    high: float | None = None
    min_duration_s: float = 0.1

    def __post_init__(self) -> None:
        if self.tolerance_pct is not None and not self.tolerance_pct > 0:
            raise ValueError(f"tolerance_pct must be > 0 or null, got {self.tolerance_pct}")
        if self.tolerance_pct is None and self.low is None and self.high is None:
            raise ValueError("a band needs tolerance_pct or low/high")
        if not self.min_duration_s >= 0:
            raise ValueError(f"min_duration_s must be >= 0, got {self.min_duration_s}")


def _default_bands() -> dict[str, Band]:
    return {"current": Band(tolerance_pct=15.0), "voltage": Band(tolerance_pct=10.0),
            "wire_feed": Band(tolerance_pct=10.0), "travel_speed": Band(tolerance_pct=10.0),
            "heat_input": Band(tolerance_pct=15.0)}


@dataclass
class LimitsConfig:
    """Tolerance bands per channel of the process data (``heat_input`` and ``power`` included)."""

    enabled: bool = True
    bands: dict[str, Band | None] = field(default_factory=_default_bands)  # a band set to null is dropped
    arc_on_a: float = 20.0  # current above which the arc burns (bands are checked only then)
    ignore_start_s: float = 0.5  # after arc ignition: the start ramp is not judged (as a monitor's start delay)
    ignore_end_s: float = 0.5  # before the arc goes out: the crater fill is not judged

    def __post_init__(self) -> None:
        self.bands = {k: v for k, v in self.bands.items() if v is not None}  # e.g. an FSW recipe drops the arc's


@dataclass
class SeamConfig:
    """Seam positions of recordings without a travel-speed channel: ``nominal_by_process`` gives the
    travel speed (mm/s) of a process, ``nominal_travel_speed_mm_s`` that of any other (a
    recording attribute ``travel_speed_mm_s`` wins over both)."""

    nominal_travel_speed_mm_s: float = 8.0
    nominal_by_process: dict[str, float] = field(
        default_factory=lambda: {"GMAW": 8.0, "TIG": 3.5, "laser": 20.0, "FSW": 5.0})

    def __post_init__(self) -> None:
        for key, v in {"*": self.nominal_travel_speed_mm_s, **self.nominal_by_process}.items():
            if not v > 0:
                raise ValueError(f"nominal travel speed of {key} must be > 0 mm/s, got {v}")

    def nominal(self, process: str) -> float:
        """The nominal travel speed (mm/s) of ``process``."""
        return float(self.nominal_by_process.get(process, self.nominal_travel_speed_mm_s))
