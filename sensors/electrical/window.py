"""Process data inside a window: 800 samples of the 7 channels of :mod:`.derived`."""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.sensors.window import SignalWindow


@dataclass
class ElectricalWindow(SignalWindow):
    """Electrical window: 4 stored channels + derived power, heat_input, short_circuit (7 in all).

    ``short_circuit_v``: a native sample with voltage below this many volts is in short circuit;
    the window channel is the share of each output sample's bin in short circuit (0..1).
    ``channels`` is fixed by the derivation and must stay ``None``.
    """

    length: int = 800
    short_circuit_v: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channels is not None:
            raise ValueError("electrical channels are fixed (4 stored + power, heat_input, short_circuit)")
        if self.envelope_channels:
            raise ValueError("electrical channels cannot be envelopes")


WINDOW = ElectricalWindow
