"""The strain gauge inside a window: 40 samples by default."""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.sensors.window import SignalWindow


@dataclass
class StrainWindow(SignalWindow):
    length: int = 40


WINDOW = StrainWindow
