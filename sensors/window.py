"""Window settings a sensor declares: how many samples of it one window holds, and how.

Each sensor folder declares its own window config class in ``sensors/<name>/window.py``
(``WINDOW = VideoWindow`` …), derived from one of the two bases here; the recipe section
``data.modalities.<name>`` is typed by that class (:mod:`weldfusion.datasets.config` builds the
``data.modalities`` tree from the declarations, so a new sensor folder is configurable at once).

A window of ``window_s`` seconds starting at ``t0`` holds ``length`` samples of a modality;
sample ``k`` sits at ``t0 + k * window_s / length`` on the recording clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImageWindow:
    """An image modality inside a window: ``length`` frames of ``size`` (H, W) pixels.

    ``size=None`` keeps the stored frame size (all recordings must then agree). Colour frames
    become grey; other sizes are resized with ``cv2.INTER_AREA``.
    """

    length: int = 16
    size: tuple[int, int] | None = (64, 64)
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"length must be >= 1, got {self.length}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"size must be (H, W) with H, W >= 1, got {self.size}")


@dataclass
class SignalWindow:
    """A signal modality inside a window: ``length`` samples per channel, (C, length).

    Attributes:
        channels: channel names in tensor order; ``None`` = every channel found in the data set's
            files (order of first appearance; taken from the normalisation statistics when given).
            A listed channel that a recording lacks is delivered as zeros. A sensor with derived
            channels (``sensors/<name>/derived.py``) fixes its channels and refuses this key.
        envelope_channels: channels delivered as an RMS envelope (root mean square of the native
            samples in each output sample's bin) instead of the anti-aliased waveform. Meant for
            acoustic emission recorded at MHz rates, whose 100 kHz+ content an anti-aliasing
            filter down to the window rate would remove entirely.
    """

    length: int = 800
    enabled: bool = True
    channels: list[str] | None = None
    envelope_channels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"length must be >= 1, got {self.length}")
