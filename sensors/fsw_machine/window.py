"""FSW machine data inside a window: 400 anti-aliased samples of the 7 channels of :mod:`.derived`
(1 kHz at 0.4 s: the tool's rotation, 15-25 Hz, and the stick-slip of galling, 30-80 Hz, stay resolved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from weldfusion.sensors.window import SignalWindow


@dataclass
class FswMachineWindow(SignalWindow):
    length: int = 400
    #: not in a recipe's data unless it names it (the arc processes have no FSW machine)
    IN_DEFAULT_DATA: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channels is not None:
            raise ValueError("fsw_machine channels are fixed (5 stored + power, heat_input)")


WINDOW = FswMachineWindow
