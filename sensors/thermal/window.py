"""IR frames inside a window: 8 temperature maps of 40x64 by default (degC)."""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.sensors.window import ImageWindow


@dataclass
class ThermalWindow(ImageWindow):
    length: int = 8
    size: tuple[int, int] | None = (40, 64)


WINDOW = ThermalWindow
