"""The OPC UA node map (YAML): which node of a power source or PLC carries which channel.

See :mod:`.opcua` for the layout; :func:`read_node_map` checks it against the typed form below,
so an unknown key, a wrong type, a stream without channels or rate is one line naming the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

from weldfusion.recipes.config import load
from weldfusion.recipes.errors import InvalidInput


@dataclasses.dataclass
class NodeStream:
    """One sensor's nodes: ``channels`` (channel -> node id), nominal ``rate`` (Hz), optional
    sample ``counter`` node, ``starting_time`` (s) of sample 0 and ``units``."""

    channels: dict[str, str]
    rate: float
    counter: str | None = None
    starting_time: float = 0.0
    units: str = ""


@dataclasses.dataclass
class NodeMap:
    """The whole file: server ``endpoint``, ``streams``, recording time 0 as a UTC date-time
    (``None``: the first sample) and recording ``meta`` (material pair, process …)."""

    endpoint: str
    streams: dict[str, NodeStream]
    time_origin_utc: str | None = None
    meta: dict[str, str | int | float | bool] = dataclasses.field(default_factory=dict)


def read_node_map(path: str | Path) -> NodeMap:
    """Read and check a node map."""
    path = Path(path)
    nmap = load(NodeMap, path, what="node map")
    if not nmap.streams:
        raise InvalidInput(f"{path}: streams: map at least one sensor's channels to node ids")
    for name, spec in nmap.streams.items():
        if not spec.channels:
            raise InvalidInput(f"{path}: streams.{name}.channels: map each channel to a node id")
        if not spec.rate > 0 or not math.isfinite(spec.rate):
            raise InvalidInput(f"{path}: streams.{name}.rate: a nominal rate in Hz is needed, got {spec.rate}")
        if not math.isfinite(spec.starting_time):
            raise InvalidInput(f"{path}: streams.{name}.starting_time: seconds, got {spec.starting_time}")
    if nmap.time_origin_utc is not None:
        try:
            stamp = dt.datetime.fromisoformat(nmap.time_origin_utc)
        except ValueError:
            raise InvalidInput(f"{path}: time_origin_utc: an ISO date-time, got {nmap.time_origin_utc!r}") from None
        if stamp.tzinfo is None:
            raise InvalidInput(f"{path}: time_origin_utc: give the time zone (e.g. +00:00), got {nmap.time_origin_utc!r}")
    return nmap
