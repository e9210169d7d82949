"""Video inside a window: 16 grey frames of 64x64 by default."""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.sensors.window import ImageWindow


@dataclass
class VideoWindow(ImageWindow):
    length: int = 16
    size: tuple[int, int] | None = (64, 64)


WINDOW = VideoWindow
