"""Sound inside a window: 6400 samples per channel; an ``ae`` channel as its RMS envelope."""

from __future__ import annotations

from dataclasses import dataclass, field

from weldfusion.sensors.window import SignalWindow


@dataclass
class AcousticWindow(SignalWindow):
    length: int = 6400
    envelope_channels: list[str] = field(default_factory=lambda: ["ae"])


WINDOW = AcousticWindow
