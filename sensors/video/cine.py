"""Phantom high-speed camera files (Vision Research ``.cine``), read with ``pycine``.

Covered: monochrome files with 16-bit pixel storage (any ``RealBPP`` from 9 to 16 bits; pycine
maps the setup's black..white level onto 0 .. 2**RealBPP - 1) and 10-bit packed files
(``biCompression`` set; pycine's linearisation table gives 12-bit values). Frames come out as
(k, H, W) ``uint16`` top row first (CINE stores bottom-up; pycine flips), stored as ``gray16``.
The frame rate is the setup's ``FrameRate`` (the recording rate, not a playback rate).

Refused with one line: colour files (a colour filter array or colour enabled: pycine's raw reader
does not demosaic), 8-bit files (pycine 0.3 reads pixels as 16-bit words only), a header or
image offsets that do not fit the file (a truncated download or copy).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.raw_source import IngestError, RawSource, block_length, first_line

#: ``Type`` of a CINE file header: the bytes "CI" read as a little-endian uint16.
CINE_MAGIC = int.from_bytes(b"CI", "little")


def _header(path: Path) -> dict:
    from pycine.file import read_header  # lazy: pycine only for Phantom files

    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    size = path.stat().st_size
    try:
        header = read_header(str(path))
    except Exception as err:  # noqa: BLE001 - ctypes/struct raise several types on a short file
        raise IngestError(f"{path}: not a readable Phantom CINE file ({first_line(err)})") from None
    cfh, bih, setup = header["cinefileheader"], header["bitmapinfoheader"], header["setup"]
    if cfh.Type != CINE_MAGIC:
        raise IngestError(f"{path}: not a Phantom CINE file (no 'CI' signature)")
    if cfh.ImageCount < 1 or bih.biWidth < 1 or abs(bih.biHeight) < 1:
        raise IngestError(f"{path}: CINE header holds no frames ({cfh.ImageCount} images of {bih.biWidth}x{bih.biHeight})")
    if setup.CFA != 0 or setup.bEnableColor:
        raise IngestError(f"{path}: colour CINE (colour filter array {setup.CFA}) is not supported; record in mono")
    if not bih.biCompression and bih.biBitCount != 16:
        raise IngestError(f"{path}: {bih.biBitCount}-bit CINE pixels are not supported (16-bit storage or 10-bit packed)")
    frame_bytes = bih.biWidth * abs(bih.biHeight) * (10 if bih.biCompression else 16) // 8
    last = max(header["pImage"])
    if last + 8 + frame_bytes > size:
        raise IngestError(f"{path}: truncated CINE file: frame data ends at byte {last + 8 + frame_bytes}, "
                          f"the file has {size}")
    return header


def open_cine(path: Path) -> tuple[RawSource, float | None]:
    """A Phantom ``.cine`` recording as a :class:`RawSource` of (k, H, W) uint16 frames and its
    recording rate (frames/s; None when the setup holds none)."""
    from pycine.raw import frame_reader  # lazy: pycine only for Phantom files

    header = _header(path)
    cfh, bih, setup = header["cinefileheader"], header["bitmapinfoheader"], header["setup"]
    shape = (abs(int(bih.biHeight)), int(bih.biWidth))
    n = int(cfh.ImageCount)
    rate = float(setup.FrameRate) or None
    k = block_length(shape, 2)

    def blocks() -> Iterator[np.ndarray]:
        block: list[np.ndarray] = []
        try:
            for frame in frame_reader(str(path), header, start_frame=1, count=n):
                block.append(frame)
                if len(block) == k:
                    yield np.stack(block).astype(np.uint16, copy=False)
                    block = []
        except (ValueError, OSError, struct.error) as err:  # struct/reshape errors of a damaged frame record
            raise IngestError(f"{path}: damaged CINE frame record ({first_line(err)})") from None
        if block:
            yield np.stack(block).astype(np.uint16, copy=False)

    source = RawSource(path=path, modality="video", sample_shape=shape, dtype=np.dtype(np.uint16), units="gray16",
                       rate=rate, n=n, make_blocks=blocks)
    return source, rate
