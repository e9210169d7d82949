"""Acoustic emission inside a window: its RMS envelope, 1600 bins (250 us each at 0.4 s windows).

The MHz waveform cannot enter a window as a waveform (an anti-aliasing filter down to the window
rate would leave nothing of a 100-300 kHz hit); the RMS of the native samples in each bin keeps
every hit's energy and its time to a quarter millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from weldfusion.sensors.window import SignalWindow


@dataclass
class EmissionWindow(SignalWindow):
    length: int = 1600
    envelope_channels: list[str] = field(default_factory=lambda: ["ae"])
    #: not in a recipe's data unless it names it (the default data has no AE sensor)
    IN_DEFAULT_DATA: ClassVar[bool] = False


WINDOW = EmissionWindow
