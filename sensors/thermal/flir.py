"""FLIR radiometric JPEGs (one thermogram per file), read with ``flyr``.

Each file's raw counts are turned into degC by flyr from the file's own Planck constants and
object parameters (emissivity, reflected apparent temperature, distance, atmosphere, IR window);
the manifest's ``emissivity`` and ``reflected_temp_c`` override the file's values for every frame
(the camera operator's setting is often wrong for a bright metal plate). A folder or glob of such
files is one stream; the times come from the manifest's ``rate`` or a ``timestamps`` CSV, as for
any image sequence. Sequence containers (``.seq``/``.csq`` of FLIR Research Studio) are not read:
flyr reads single thermograms only.

A file without FLIR radiometric data (a plain photo, a visual-only FLIR picture), a damaged or
truncated one, or a frame whose temperature is not finite (an emissivity that the counts cannot
support) is an :class:`~weldfusion.sensors.raw_source.IngestError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.raw_source import IngestError, RawSource, first_line
from weldfusion.sensors.video.io import image_sequence_blocks

KELVIN_AT_0C = 273.15


def _reader(emissivity: float | None, reflected_temp_c: float | None) -> Callable[[Path], np.ndarray]:
    adjust = {}
    if emissivity is not None:
        adjust["emissivity"] = float(emissivity)
    if reflected_temp_c is not None:
        adjust["reflected_apparent_temperature"] = float(reflected_temp_c) + KELVIN_AT_0C

    def read(path: Path) -> np.ndarray:
        import flyr  # lazy: flyr (and Pillow's EXIF parsing) only for FLIR files

        if not path.is_file():
            raise MissingInput(f"{path}: no such FLIR file")
        try:
            thermogram = flyr.unpack(str(path))
            if adjust:
                thermogram = thermogram.adjust_metadata(**adjust)
            with np.errstate(all="ignore"):
                celsius = np.asarray(thermogram.celsius, dtype=np.float64)
        except Exception as err:  # noqa: BLE001 - flyr raises ValueError/KeyError/struct.error/PIL errors
            raise IngestError(f"{path}: not a readable FLIR radiometric JPEG ({first_line(err)})") from None
        if celsius.ndim != 2 or not celsius.size:
            raise IngestError(f"{path}: FLIR thermogram has shape {celsius.shape}, not (H, W)")
        if not np.all(np.isfinite(celsius)):
            raise IngestError(f"{path}: FLIR counts give non-finite temperatures with emissivity "
                              f"{adjust.get('emissivity', 'of the file')}")
        return celsius.astype(np.float32)

    return read


def open_flir(files: list[Path], emissivity: float | None, reflected_temp_c: float | None) -> RawSource:
    """A sequence of FLIR radiometric JPEGs as a :class:`RawSource` of (k, H, W) float32 degC."""
    read = _reader(emissivity, reflected_temp_c)
    first = read(files[0])
    return RawSource(
        path=files[0], modality="thermal", sample_shape=first.shape, dtype=np.dtype(np.float32), units="degC",
        rate=None, n=len(files),
        make_blocks=image_sequence_blocks(files, lambda frame, _path: frame, first.shape, np.float32, read=read),
    )
