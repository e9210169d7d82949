"""A minimal XDF writer for the tests (pyxdf reads XDF but does not write it): file header, stream
headers with channel labels, double64 samples with explicit time stamps, clock offsets, footers —
the chunk layout of the XDF 1.0 specification (github.com/sccn/xdf/wiki/Specifications)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _chunk(tag: int, content: bytes) -> bytes:
    length = len(content) + 2
    return struct.pack("<BQ", 8, length) + struct.pack("<H", tag) + content


def _varlen(n: int) -> bytes:
    return struct.pack("<BQ", 8, n)


def write_xdf(path: Path, streams: list[dict]) -> Path:
    """``streams``: dicts with ``name``, ``type``, ``rate`` (0 = irregular), ``labels``,
    ``values`` (n, C), ``stamps`` (n,) on the outlet's clock, ``offsets`` [(collection time, offset)]
    (outlet clock + offset = recorder clock)."""
    out = bytearray(b"XDF:")
    out += _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    for sid, s in enumerate(streams, start=1):
        chans = "".join(f"<channel><label>{lab}</label></channel>" for lab in s["labels"])
        xml = (f'<?xml version="1.0"?><info><name>{s["name"]}</name><type>{s["type"]}</type>'
               f'<channel_count>{len(s["labels"])}</channel_count><nominal_srate>{s["rate"]}</nominal_srate>'
               f'<channel_format>double64</channel_format><created_at>0</created_at>'
               f'<desc><channels>{chans}</channels></desc></info>')
        out += _chunk(2, struct.pack("<I", sid) + xml.encode())
    for sid, s in enumerate(streams, start=1):
        values = np.asarray(s["values"], dtype=np.float64)
        stamps = np.asarray(s["stamps"], dtype=np.float64)
        for i0 in range(0, len(values), 256):
            body = bytearray(struct.pack("<I", sid) + _varlen(min(256, len(values) - i0)))
            for row, t in zip(values[i0: i0 + 256], stamps[i0: i0 + 256], strict=True):
                body += struct.pack("<Bd", 8, t) + row.astype("<f8").tobytes()
            out += _chunk(3, bytes(body))
        for collected, offset in s.get("offsets", []):
            out += _chunk(4, struct.pack("<Idd", sid, collected, offset))
    for sid, s in enumerate(streams, start=1):
        xml = (f'<?xml version="1.0"?><info><first_timestamp>{s["stamps"][0]}</first_timestamp>'
               f'<last_timestamp>{s["stamps"][-1]}</last_timestamp><sample_count>{len(s["stamps"])}'
               f'</sample_count></info>')
        out += _chunk(6, struct.pack("<I", sid) + xml.encode())
    path.write_bytes(bytes(out))
    return path
