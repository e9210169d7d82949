"""A microphone (any PortAudio input: a USB measurement microphone, a sound card's line input)
as a live acoustic source for the stream engine, through ``sounddevice``.

PortAudio calls :meth:`MicrophoneSource._callback` from its own thread with blocks of
``block_s`` seconds; each block becomes one packet of float32 samples. Samples are placed by the
stream's ADC clock (``time.inputBufferAdcTime``), not by counting: when the driver drops input
(an overflow, a USB hiccup) the sample counter jumps by the samples lost, so the presence logic
sees the gap instead of a silently shifted clock. Values are fractions of full scale times
``scale`` (the microphone's sensitivity in Pa per full scale, from its calibration; without it
the stream is labelled ``FS``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
from weldfusion.recipes.errors import InvalidInput
from weldfusion.tools.streaming.replay import Packet, StreamHeader
from weldfusion.tools.streaming.sources import queued_packets

#: Seconds per packet handed to the engine (PortAudio's block size).
BLOCK_S = 0.01


def _sounddevice_stream():
    try:
        import sounddevice  # lazy: PortAudio is loaded only for a live microphone
    except OSError as err:  # sounddevice raises OSError when the PortAudio library is missing
        raise InvalidInput(f"--mic: PortAudio is not available ({err}); on Debian: apt install libportaudio2") from None
    return sounddevice.InputStream, sounddevice.PortAudioError


def _device(spec: str):
    return int(spec) if spec.isdigit() else (None if spec in ("", "default") else spec)


class MicrophoneSource:
    """One PortAudio input channel as the stream ``modality`` (``acoustic`` by default).

    Args:
        device: PortAudio device index or (part of a) name; ``"default"`` for the system's input.
        rate: samples per second (Hz).
        scale: Pa per full scale (units ``Pa``); None keeps full-scale fractions (units ``FS``).
        channel: which input channel of the device (0-based).
        idle_s: :meth:`packets` ends when no block came for this long after the first.
        open_stream: the ``sounddevice.InputStream`` class (tests hand in a stand-in).
    """

    def __init__(self, device: str, rate: float, modality: str = "acoustic", *, scale: float | None = None,
                 channel: int = 0, block_s: float = BLOCK_S, idle_s: float = 2.0, max_samples: int | None = None,
                 meta: dict | None = None, open_stream: Callable | None = None) -> None:
        if not (np.isfinite(rate) and 1000.0 <= rate <= 1_000_000.0):
            raise InvalidInput(f"--mic-rate must be in [1000, 1e6] Hz, got {rate}")
        if scale is not None and not (np.isfinite(scale) and scale > 0):
            raise InvalidInput(f"--mic-scale must be a positive number of Pa per full scale, got {scale}")
        errors: tuple[type[BaseException], ...] = ()
        if open_stream is None:
            open_stream, portaudio_error = _sounddevice_stream()
            errors = (portaudio_error,)
        self.path = f"microphone:{device}"
        self.rate = float(rate)
        self.modality = modality
        self.names = (modality,)
        self.channel = int(channel)
        self.scale = scale
        self.block = max(1, int(round(block_s * self.rate)))
        units = "Pa" if scale is not None else "FS"
        self.headers = {modality: StreamHeader(modality, "signal", self.rate, 0.0, (), np.dtype(np.float32),
                                               ("mic",), units, self.block)}
        self.meta = dict(meta or {})
        self.origin_s = 0.0
        self.idle_s = idle_s
        self.max_samples = max_samples
        self._queue: queue.Queue = queue.Queue()
        self._adc0: float | None = None
        self._next = 0
        self._lock = threading.Lock()
        self._wall0 = time.monotonic()
        self.dropped = 0
        try:
            self._stream = open_stream(device=_device(device), channels=self.channel + 1, samplerate=self.rate,
                                       blocksize=self.block, dtype="float32", callback=self._callback)
        except (*errors, ValueError) as err:
            raise InvalidInput(f"{device}: cannot open this microphone ({str(err).splitlines()[0]})") from None

    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        """PortAudio's thread: ``indata`` (frames, channels) float32 in full-scale units."""
        adc = float(getattr(time_info, "inputBufferAdcTime", 0.0) or 0.0)
        with self._lock:
            if self._adc0 is None:
                self._adc0 = adc
            start = max(self._next, int(round((adc - self._adc0) * self.rate)))  # a jump = samples lost
            self.dropped += start - self._next
            if self.max_samples is not None and start >= self.max_samples:
                return
            self._next = start + frames
        data = np.ascontiguousarray(indata[:, self.channel], dtype=np.float32)
        if self.scale is not None:
            data = data * np.float32(self.scale)
        times = (start + np.arange(frames)) / self.rate
        self._queue.put(Packet(self.modality, start, data, times, time.monotonic() - self._wall0))

    def packets(self) -> Iterator[Packet]:
        """Blocks as packets, in order, until the input falls silent for ``idle_s`` or is closed."""
        self._wall0 = time.monotonic()
        self._stream.start()
        yield from queued_packets(self._queue, self.idle_s)

    def now(self) -> float:
        """The current time on the microphone's clock (0 = the start of delivery)."""
        return time.monotonic() - self._wall0

    def close(self) -> None:
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    def __enter__(self) -> MicrophoneSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
