"""The laser monitor inside a window: 800 anti-aliased samples per channel (2 kHz at 0.4 s)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from weldfusion.sensors.window import SignalWindow


@dataclass
class LaserMonitorWindow(SignalWindow):
    length: int = 800
    #: not in a recipe's data unless it names it (arc processes have no laser monitor)
    IN_DEFAULT_DATA: ClassVar[bool] = False


WINDOW = LaserMonitorWindow
