"""Stream map for LSL outlets that are not weldfusion's own: which outlet is which sensor.

A lab's DAQ, microphone or camera publisher names its outlets and channels its own way and sends
no weldfusion description. A *stream map* (YAML, like the ingest manifest and the OPC UA node map)
says, per sensor, which outlet (by LSL stream name) carries it and how to read its samples::

    meta: {material_pair: Al-steel, process: GMAW}       # optional: else stream --pair/--process
    streams:
      electrical:
        name: "NI USB-6341"                              # the outlet's LSL name
        channels: {current: "AI0", voltage: "AI1", wire_feed: 2, travel_speed: "v_mm_s"}
      acoustic: {name: "Arc microphone", channels: {mic: 0}, scale: 20.0, units: Pa}
      video:    {name: "cam0", frame_shape: [240, 320]}   # one frame per sample, H*W channels, row-major
      thermal:  {name: "IR", frame_shape: [120, 160], scale: 0.04, offset: -273.15}

Channels are the outlet's channel labels (from its description) or 0-based indices; a sensor
that declares channels (the DAQ: current, voltage, wire feed, travel speed) needs each mapped, a
sensor without fixed channels (microphones) takes the outlet's channel 0 under the name the model
reads unless told (``channels: {mic: 0, mic2: 1}`` for two). ``scale``/``offset`` turn the
outlet's values into the sensor's units (``value * scale + offset``); ``rate`` replaces an
outlet's nominal rate (needed when it announces none). Every key is checked against this typed
form (:class:`LslMap`); a wrong key or type is one line naming the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np
from weldfusion.recipes.config import load
from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors import registry


@dataclasses.dataclass
class MappedOutlet:
    """One sensor's outlet. ``channels``: sensor channel -> outlet channel label or index."""

    name: str
    channels: dict[str, str | int] | None = None
    frame_shape: list[int] | None = None
    scale: float = 1.0
    offset: float = 0.0
    units: str | None = None
    rate: float | None = None
    dtype: Literal["uint8", "uint16", "float32"] | None = None


@dataclasses.dataclass
class LslMap:
    """The whole file: ``streams`` (modality -> outlet) and recording ``meta``."""

    streams: dict[str, MappedOutlet]
    meta: dict[str, str] = dataclasses.field(default_factory=dict)


def read_lsl_map(path: str | Path) -> LslMap:
    """Read and check a stream map (see the module docstring)."""
    path = Path(path)
    smap = load(LslMap, path, what="LSL stream map")
    if not smap.streams:
        raise InvalidInput(f"{path}: streams: map at least one sensor to an LSL outlet")
    known = registry.modality_names()
    for modality, out in smap.streams.items():
        where = f"{path}: streams.{modality}"
        if modality not in known:
            raise InvalidInput(f"{where}: not a sensor ({', '.join(known)})")
        kind = registry.get(modality).kind
        if kind == "image" and (out.frame_shape is None or len(out.frame_shape) != 2 or min(out.frame_shape) < 1):
            raise InvalidInput(f"{where}.frame_shape: a camera outlet needs [H, W] (two positive integers)")
        if kind == "signal" and (out.frame_shape is not None or out.dtype is not None):
            raise InvalidInput(f"{where}: frame_shape/dtype apply to camera outlets only")
        if out.rate is not None and not out.rate > 0:
            raise InvalidInput(f"{where}.rate: must be > 0 Hz, got {out.rate}")
        if not (np.isfinite(out.scale) and out.scale != 0 and np.isfinite(out.offset)):
            raise InvalidInput(f"{where}: scale must be finite and non-zero, offset finite")
        if kind == "image" and out.channels is not None:
            raise InvalidInput(f"{where}.channels: a camera outlet's channels are its pixels (give frame_shape)")
        declared = registry.get(modality).channels
        if declared and set(out.channels or {}) != set(declared):
            raise InvalidInput(f"{where}.channels: map each of {', '.join(declared)} to an outlet channel")
    return smap


def channel_columns(out: MappedOutlet, modality: str, labels: tuple[str, ...], where: str,
                    expected: tuple[str, ...] = ()) -> tuple[tuple[str, ...], list[int]]:
    """The sensor's channel names and the outlet columns that carry them (canonical order).

    Args:
        labels: the outlet's channel labels (``len`` = its channel count).
        expected: the channel names the model reads from this sensor (a one-channel sensor the
            map leaves unnamed takes the model's name; a name the model does not read is an error).
    """
    mod = registry.get(modality)
    if mod.kind == "image":
        h, w = out.frame_shape
        if h * w != len(labels):
            raise InvalidInput(f"{where}: the outlet has {len(labels)} channels, frame_shape {h}x{w} needs {h * w}")
        return (), list(range(h * w))
    mapping = out.channels or {(expected[0] if len(expected) == 1 else modality): 0}
    wanted = mod.channels or tuple(mapping)
    unread = [ch for ch in wanted if expected and ch not in expected]
    if unread:
        raise InvalidInput(f"{where}.channels: the model reads {', '.join(expected)} from {modality}, not {unread[0]!r}")
    cols = []
    for ch in wanted:
        ref = mapping[ch]
        if isinstance(ref, int):
            if not 0 <= ref < len(labels):
                raise InvalidInput(f"{where}.channels.{ch}: index {ref}, the outlet has {len(labels)} channels")
            cols.append(ref)
        elif ref in labels:
            cols.append(labels.index(ref))
        else:
            raise InvalidInput(f"{where}.channels.{ch}: the outlet has no channel {ref!r} ({', '.join(labels)})")
    return tuple(wanted), cols
