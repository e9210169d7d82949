"""A FLIR radiometric JPEG writer for the tests (flyr and flirpy read these files but do not write
them): a visual JPEG from Pillow with the FLIR FFF block in APP1 segments ("FLIR\\0" chunks) — FFF
header, record directory (RawData little-endian u16 counts + CameraInfo with the Planck constants
and object parameters), the layout of ExifTool's FLIR tag documentation that flyr reads.

``counts_for`` inverts the Planck curve of :data:`PLANCK` (emissivity 1, no atmosphere, no window)
so a test can write a known temperature field."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

#: Synthetic high-range calibration: 200..1400 degC fit in 16-bit counts.
PLANCK = {"R1": 300600.0, "R2": 1.0, "B": 3000.0, "F": 1.0, "O": 0}


def counts_for(celsius: np.ndarray) -> np.ndarray:
    kelvin = np.asarray(celsius, dtype=np.float64) + 273.15
    raw = PLANCK["R1"] / (PLANCK["R2"] * (np.exp(PLANCK["B"] / kelvin) - PLANCK["F"])) - PLANCK["O"]
    return np.clip(np.rint(raw), 0, 65535).astype(np.uint16)


def celsius_for(counts: np.ndarray, emissivity: float = 1.0, reflected_c: float = 20.0) -> np.ndarray:
    """The temperature of ``counts`` for an object of ``emissivity`` reflecting ``reflected_c``."""
    def radiance(kelvin):
        return PLANCK["R1"] / (PLANCK["R2"] * (np.exp(PLANCK["B"] / kelvin) - PLANCK["F"])) - PLANCK["O"]
    raw_obj = counts.astype(np.float64) / emissivity - (1 - emissivity) / emissivity * radiance(reflected_c + 273.15)
    return PLANCK["B"] / np.log(PLANCK["R1"] / (PLANCK["R2"] * (raw_obj + PLANCK["O"])) + PLANCK["F"]) - 273.15


def _camera_info(emissivity: float, reflected_c: float) -> bytes:
    rec = bytearray(1024)
    f = lambda off, v: struct.pack_into("<f", rec, off, v)  # noqa: E731
    f(32, emissivity), f(36, 0.0), f(40, reflected_c + 273.15), f(44, 293.15), f(48, 293.15), f(52, 1.0)
    f(60, 0.5)
    f(88, PLANCK["R1"]), f(92, PLANCK["B"]), f(96, PLANCK["F"])
    for off, v in zip(range(112, 132, 4), (0.006569, 0.01262, -0.002276, -0.00667, 1.9), strict=True):
        f(off, v)
    f(132, 1500.0), f(136, 200.0)
    struct.pack_into("<i", rec, 776, int(PLANCK["O"])), f(780, PLANCK["R2"])
    struct.pack_into("<HH", rec, 784, 0, 65535)
    return bytes(rec)


def _fff(counts: np.ndarray, emissivity: float, reflected_c: float) -> bytes:
    h, w = counts.shape
    raw = struct.pack("<HHH", 2, w, h) + bytes(26) + counts.astype("<u2").tobytes()
    cam = _camera_info(emissivity, reflected_c)
    n_entries = 4  # RawData, CameraInfo and two empty entries (type 0), as cameras leave spares
    data_at = 64 + 32 * n_entries
    header = b"FFF\0" + b"weldfusion test\0" + struct.pack(">III", 100, 64, n_entries) + bytes(28) + bytes(4)
    entries = b""
    for rtype, sub, offset, blob in ((1, 2, data_at, raw), (32, 1, data_at + len(raw), cam)):
        entries += struct.pack(">HHIIIIIII", rtype, sub, 0x64, 1, offset, len(blob), 0, 0, 0)
    entries += bytes(32 * 2)
    return header + entries + raw + cam


def write_flir_jpeg(path: Path, counts: np.ndarray, emissivity: float = 1.0, reflected_c: float = 20.0) -> Path:
    """One radiometric JPEG of ``counts`` (H, W) uint16."""
    visual = io.BytesIO()
    grey = (counts.astype(np.float64) / max(1, counts.max()) * 255).astype(np.uint8)
    Image.fromarray(grey).convert("RGB").save(visual, format="JPEG", quality=80)
    jpeg = visual.getvalue()
    fff = _fff(counts, emissivity, reflected_c)
    size = 65000
    parts = [fff[i: i + size] for i in range(0, len(fff), size)]
    app1 = b"".join(b"\xff\xe1" + struct.pack(">H", 10 + len(p)) + b"FLIR\0\x01" + bytes([k, len(parts) - 1]) + p
                    for k, p in enumerate(parts))
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    return path
