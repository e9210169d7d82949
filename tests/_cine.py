"""A Phantom CINE writer for the tests (pycine reads CINE but does not write frames): the file,
bitmap and setup headers are pycine's own ``ctypes`` structures (``pycine.cine``), filled and
written as bytes, followed by the image offset table and one record per frame (annotation size 8,
image size, pixels bottom row first) — the layout pycine's reader expects."""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

import numpy as np


def write_cine(path: Path, frames: np.ndarray, rate: int, real_bpp: int = 12, cfa: int = 0) -> Path:
    """``frames`` (N, H, W) uint16 with values in 0 .. 2**real_bpp - 1 (black level 0, white level
    the top of that range), 16-bit storage."""
    from pycine import cine

    n, h, w = frames.shape
    fh, bh, setup = cine.CINEFILEHEADER(), cine.BITMAPINFOHEADER(), cine.SETUP()
    off_setup = ctypes.sizeof(fh) + ctypes.sizeof(bh)
    off_offsets = off_setup + ctypes.sizeof(setup)
    first_image = off_offsets + 8 * n
    frame_bytes = h * w * 2
    fh.Type, fh.Headersize, fh.Compression, fh.Version = int.from_bytes(b"CI", "little"), ctypes.sizeof(fh), 0, 1
    fh.FirstMovieImage, fh.TotalImageCount, fh.FirstImageNo, fh.ImageCount = 0, n, 0, n
    fh.OffImageHeader, fh.OffSetup, fh.OffImageOffsets = ctypes.sizeof(fh), off_setup, off_offsets
    bh.biSize, bh.biWidth, bh.biHeight, bh.biPlanes, bh.biBitCount = ctypes.sizeof(bh), w, h, 1, 16
    bh.biCompression, bh.biSizeImage = 0, frame_bytes
    setup.Mark, setup.Length = int.from_bytes(b"ST", "little"), ctypes.sizeof(setup)
    setup.ImWidth, setup.ImHeight, setup.FrameRate, setup.RealBPP = w, h, rate, real_bpp
    setup.BlackLevel, setup.WhiteLevel, setup.CFA, setup.bEnableColor = 0, 2 ** real_bpp - 1, cfa, 0
    offsets = [first_image + i * (8 + frame_bytes) for i in range(n)]
    with open(path, "wb") as f:
        f.write(bytes(fh) + bytes(bh) + bytes(setup) + struct.pack(f"<{n}q", *offsets))
        for frame in frames:
            f.write(struct.pack("<II", 8, frame_bytes) + np.ascontiguousarray(frame[::-1]).astype("<u2").tobytes())
    return path
