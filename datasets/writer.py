"""Atomic HDF5 recording writer.

Everything is written to a temporary file beside the target and renamed onto it only when
:meth:`RecordingWriter.commit` succeeds (``with`` does this on a clean exit). On any error the
temporary file is removed, so a half-written recording never appears and an existing file is
never clobbered unless ``overwrite=True``.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import shutil
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np
from isal import isal_zlib
from weldfusion.datasets.schema import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_S,
    FORMAT,
    FORMAT_VERSION,
    LABEL_DTYPE,
    RecordingMeta,
    chunk_shape,
    labels_to_array,
)
from weldfusion.recipes.errors import MissingInput, OutputExists
from weldfusion.recipes.files import temporary_name
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, LabelInterval, Taxonomy
from weldfusion.sensors.registry import get as get_modality

#: gzip level of the streams, chosen by measurement (README "Ingesting real recordings": on a
#: simulated 512x512 arc video level 1 ingests 1.4-1.6x faster than level 4 for a 15 % larger file).
DEFAULT_COMPRESSION_LEVEL = 1
#: A block is written only while this much stays free on the output's file system besides the
#: block itself: HDF5 must never meet a full disk (it then fails inside object clean-up, where the
#: error cannot be caught, and the process can crash); the writer refuses first, cleanly.
MIN_FREE_BYTES = 16 << 20


def cpu_count() -> int:
    """CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


#: gzip levels up to this one are deflated with ISA-L (``isal.isal_zlib``, same level number): the
#: same zlib/deflate stream format, so HDF5's gzip filter (h5dump, HDFView, h5py) reads it as any
#: other, at about a third of zlib's CPU time for the same size on camera frames (``weldfusion
#: bench ingest``). ISA-L has levels 0-3; higher levels use zlib.
ISAL_MAX_LEVEL = 3


def encode_chunk(sample: np.ndarray, level: int) -> bytes:
    """One chunk as HDF5's shuffle + deflate filters store it: bytes grouped by position in the
    element (shuffle; a no-op for 1-byte elements), then deflated in zlib format (ISA-L for levels
    1-:data:`ISAL_MAX_LEVEL`, zlib above)."""
    raw = np.ascontiguousarray(sample)
    size = raw.dtype.itemsize
    data = raw.view(np.uint8).reshape(-1, size).T.tobytes() if size > 1 else raw.tobytes()
    if 1 <= level <= ISAL_MAX_LEVEL:
        return isal_zlib.compress(data, level)
    return zlib.compress(data, level)


class StreamAppender:
    """Appends blocks of samples to one stream (for data too large to hold in memory).

    Created by :meth:`RecordingWriter.create_stream`; each :meth:`append` takes
    ``(n, *sample_shape)`` and, for irregular streams, the ``(n,)`` timestamps of the block.

    Streams chunked one sample per chunk (image streams) are compressed in a pool of threads and
    written with ``write_direct_chunk`` — the bytes HDF5's own shuffle + gzip filters would write,
    so the file is the same standard HDF5 (h5dump, HDFView) — instead of one core compressing frame
    after frame; other streams go through h5py's filter pipeline.
    """

    def __init__(self, group: h5py.Group, irregular: bool, pool: Callable[[], ThreadPoolExecutor] | None = None,
                 reserve: Callable[[int], None] | None = None) -> None:
        self._group = group
        self._reserve = reserve
        self._pool = pool
        self._data = group["data"]
        self._ts = group["timestamps"] if irregular else None
        self._n = 0
        self._last_t = -np.inf
        d = self._data
        self._direct_level = (d.compression_opts if pool is not None and d.chunks is not None and d.chunks[0] == 1
                              and d.shuffle and d.compression == "gzip" and d.chunks[1:] == d.shape[1:] else None)
        self._pending: deque[tuple[tuple[int, ...], Future]] = deque()  # compressed chunks not yet written
        self._max_pending = 0

    @property
    def n(self) -> int:
        """Samples written so far."""
        return self._n

    def append(self, block: np.ndarray, timestamps: np.ndarray | None = None) -> None:
        block = np.asarray(block)
        if block.shape[1:] != self._data.shape[1:]:
            raise ValueError(
                f"stream {self._group.name}: block sample shape {block.shape[1:]} != {self._data.shape[1:]}"
            )
        n = block.shape[0]
        if self._reserve is not None:
            self._reserve(block.nbytes)
        if self._ts is not None:
            if timestamps is None or len(timestamps) != n:
                raise ValueError(f"stream {self._group.name}: an irregular stream needs one timestamp per sample")
            ts = np.asarray(timestamps, dtype=np.float64)
            if not np.all(np.isfinite(ts)):
                raise ValueError(f"stream {self._group.name}: timestamps contain NaN/inf")
            if n and (ts[0] <= self._last_t or np.any(np.diff(ts) <= 0)):
                raise ValueError(f"stream {self._group.name}: timestamps must be strictly increasing")
            self._ts.resize((self._n + n,))
            self._ts[self._n :] = ts
            if n:
                self._last_t = float(ts[-1])
        elif timestamps is not None:
            raise ValueError(f"stream {self._group.name}: regular stream takes no timestamps")
        self._data.resize((self._n + n, *self._data.shape[1:]))
        if self._direct_level is not None and n > 1:
            # compress this block in the pool while the caller decodes the next one; write chunks in
            # order as they finish, keeping at most two blocks in flight (memory stays flat)
            zeros = (0,) * (block.ndim - 1)
            pool, level = self._pool(), int(self._direct_level)
            for i in range(n):
                self._pending.append(((self._n + i, *zeros), pool.submit(encode_chunk, block[i], level)))
            self._max_pending = max(self._max_pending, 2 * n)
            while len(self._pending) > self._max_pending or (self._pending and self._pending[0][1].done()):
                self._write_next()
        else:
            self.flush()
            self._data[self._n :] = block
        self._n += n

    def _write_next(self) -> None:
        offset, future = self._pending.popleft()
        self._data.id.write_direct_chunk(offset, future.result())

    def flush(self) -> None:
        """Write every chunk still being compressed (the writer calls this before closing the file)."""
        while self._pending:
            self._write_next()

    def discard(self) -> None:
        """Drop the chunks still being compressed (the recording is being aborted)."""
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()

    def set_gaps(self, gaps: np.ndarray | list) -> None:
        """Dropout intervals ``(G, 2)`` [start, end) seconds; replaces earlier ones."""
        _write_gaps(self._group, gaps)


def _write_gaps(group: h5py.Group, gaps) -> None:
    arr = np.asarray(gaps, dtype=np.float64).reshape(-1, 2)
    if np.any(arr[:, 1] <= arr[:, 0]):
        raise ValueError(f"stream {group.name}: every gap needs start < end")
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    if "gaps" in group:
        del group["gaps"]
    group.create_dataset("gaps", data=arr)


class RecordingWriter:
    """Writes one recording file atomically.

    Example::

        with RecordingWriter("run.h5", meta) as w:
            w.write_stream("electrical", data, rate=10_000.0, units="mixed",
                           channel_names=["current", "voltage", "wire_feed", "travel_speed"],
                           channel_units=["A", "V", "m/min", "mm/s"])
            w.write_labels(phases=[(0.0, 0.5, "idle"), ...], defects=[])
    """

    def __init__(
        self,
        path: str | os.PathLike,
        meta: RecordingMeta,
        *,
        overwrite: bool = False,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
        compression_level: int = DEFAULT_COMPRESSION_LEVEL,
        chunk_s: float = DEFAULT_CHUNK_S,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        naive_chunks: bool = False,
    ) -> None:
        """``naive_chunks=True`` lets h5py pick chunks (only for the chunking benchmark)."""
        self.path = Path(path)
        self.overwrite = overwrite
        self.taxonomy = taxonomy
        self.compression_level = compression_level
        self.chunk_s = chunk_s
        self.chunk_bytes = chunk_bytes
        self.naive_chunks = naive_chunks
        self._pool: ThreadPoolExecutor | None = None
        self._appenders: list[StreamAppender] = []
        if self.path.exists() and not overwrite:
            raise OutputExists(f"{self.path}: output exists (use --force / overwrite=True to replace it)")
        if not self.path.parent.is_dir():
            raise MissingInput(f"{self.path}: output directory {self.path.parent} does not exist")
        self._tmp = temporary_name(self.path)
        self._h5 = h5py.File(self._tmp, "w", libver=("earliest", "v110"))
        root = self._h5.attrs
        root["format"] = FORMAT
        root["format_version"] = FORMAT_VERSION
        for key in ("recording_id", "material_pair", "material_a", "material_b", "process", "source"):
            root[key] = getattr(meta, key)
        root["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        for key, value in meta.extra.items():
            root[key] = value
        self._streams = self._h5.create_group("streams")
        self._done = False

    # -- streams -----------------------------------------------------------------------------
    def create_stream(
        self,
        name: str,
        *,
        sample_shape: tuple[int, ...],
        dtype: np.dtype | str,
        units: str,
        rate: float | None = None,
        starting_time: float = 0.0,
        irregular: bool = False,
        channel_names: list[str] | tuple[str, ...] | None = None,
        channel_units: list[str] | tuple[str, ...] | None = None,
        sensor: str = "",
        attrs: dict | None = None,
        expected_samples: int | None = None,
    ) -> StreamAppender:
        """Create an empty, growable stream and return an appender for it.

        Args:
            name: a declared modality (``video``, ``thermal``, ``acoustic``, ``electrical`` …).
            sample_shape: (H, W) or (H, W, 3) for images; () or (C,) for signals.
            rate: sampling rate in Hz. Regular streams store ``starting_time`` + ``rate``;
                irregular ones (``irregular=True``) store per-sample timestamps and keep
                ``rate`` as the nominal rate.
        """
        modality = get_modality(name)
        if name in self._streams:
            raise ValueError(f"{self.path}: stream {name!r} written twice")
        sample_shape = tuple(int(s) for s in sample_shape)
        is_image_sample = len(sample_shape) == 2 or (len(sample_shape) == 3 and sample_shape[2] == 3)
        if modality.kind == "image" and not is_image_sample:
            raise ValueError(f"stream {name!r}: image samples must be (H, W) or (H, W, 3), got {sample_shape}")
        if modality.kind == "signal" and len(sample_shape) > 1:
            raise ValueError(f"stream {name!r}: signal samples must be () or (C,), got {sample_shape}")
        if rate is not None and not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"stream {name!r}: rate must be a positive number of Hz, got {rate!r}")
        if not irregular and rate is None:
            raise ValueError(f"stream {name!r}: a regular stream needs a rate (or pass irregular=True)")
        n_channels = sample_shape[0] if (modality.kind == "signal" and sample_shape) else 1
        if modality.kind == "signal":
            if channel_names is None:
                channel_names = list(modality.channels) if len(modality.channels) == n_channels else [
                    f"ch{i}" for i in range(n_channels)
                ]
            if len(channel_names) != n_channels:
                raise ValueError(
                    f"stream {name!r}: {len(channel_names)} channel names for {n_channels} channels"
                )
        dtype = np.dtype(dtype)
        group = self._streams.create_group(name)
        chunks = True if self.naive_chunks else chunk_shape(
            sample_shape, dtype.itemsize, rate, expected_samples, self.chunk_s, self.chunk_bytes
        )
        group.create_dataset(
            "data",
            shape=(0, *sample_shape),
            maxshape=(None, *sample_shape),
            dtype=dtype,
            chunks=chunks,
            compression="gzip",
            compression_opts=self.compression_level,
            shuffle=True,
        )
        if irregular:
            group.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(4096,))
        else:
            group.attrs["starting_time"] = float(starting_time)
        a = group.attrs
        a["modality"] = name
        a["units"] = units
        a["sensor"] = sensor
        if rate is not None:
            a["rate"] = float(rate)
        if channel_names is not None:
            a["channel_names"] = [str(c) for c in channel_names]
        if channel_units is not None:
            if channel_names is None or len(channel_units) != len(channel_names):
                raise ValueError(f"stream {name!r}: channel_units must match channel_names")
            a["channel_units"] = [str(u) for u in channel_units]
        for key, value in (attrs or {}).items():
            a[key] = value
        appender = StreamAppender(group, irregular, self._compressors, self._reserve)
        self._appenders.append(appender)
        return appender

    def write_stream(
        self,
        name: str,
        data: np.ndarray,
        *,
        units: str,
        rate: float | None = None,
        starting_time: float = 0.0,
        timestamps: np.ndarray | None = None,
        gaps: np.ndarray | list | None = None,
        **kwargs,
    ) -> None:
        """Write a whole in-memory stream. ``timestamps`` (N,) makes it irregular."""
        data = np.asarray(data)
        app = self.create_stream(
            name,
            sample_shape=data.shape[1:],
            dtype=data.dtype,
            units=units,
            rate=rate,
            starting_time=starting_time,
            irregular=timestamps is not None,
            expected_samples=len(data),
            **kwargs,
        )
        app.append(data, timestamps)
        if gaps is not None and len(gaps):
            app.set_gaps(gaps)

    # -- labels ------------------------------------------------------------------------------
    def write_labels(
        self,
        phases: list[LabelInterval] | list[tuple[float, float, str]] = (),
        defects: list[LabelInterval] | list[tuple[float, float, str]] = (),
    ) -> None:
        """Write the phase and defect tables; labels are checked against the taxonomy."""
        group = self._h5.require_group("labels")
        group.attrs["phase_names"] = list(self.taxonomy.phases)
        group.attrs["defect_names"] = list(self.taxonomy.defects)
        for table, rows, check in (
            ("phases", phases, self.taxonomy.phase_index),
            ("defects", defects, self.taxonomy.defect_index),
        ):
            arr = labels_to_array(list(rows))
            for row in arr:
                check(row["label"].decode() if isinstance(row["label"], bytes) else row["label"])
                if not row["end_s"] > row["start_s"]:
                    raise ValueError(f"{table} label {row['label']!r}: end_s must be > start_s")
            if table in group:
                del group[table]
            group.create_dataset(table, data=arr, dtype=LABEL_DTYPE, maxshape=(None,))

    # -- extra groups ------------------------------------------------------------------------
    def write_extra(self, group: str, datasets: dict[str, np.ndarray], attrs: dict | None = None) -> None:
        """Plain datasets in a root-level group outside the schema (e.g. the simulator's ``/truth``).

        Readers and the validator ignore such groups; ``streams`` and ``labels`` are refused.
        """
        if group in ("streams", "labels") or not group or "/" in group:
            raise ValueError(f"{self.path}: {group!r} is not a valid extra group name")
        g = self._h5.require_group(group)
        for name, data in datasets.items():
            arr = np.asarray(data)
            kwargs = {"compression": "gzip", "compression_opts": self.compression_level} if arr.size > 1024 else {}
            g.create_dataset(name, data=arr, **kwargs)
        for key, value in (attrs or {}).items():
            g.attrs[key] = value

    def _reserve(self, nbytes: int) -> None:
        """Refuse to write ``nbytes`` more unless :data:`MIN_FREE_BYTES` stay free besides them."""
        free = shutil.disk_usage(self._tmp.parent).free
        if free - nbytes < MIN_FREE_BYTES:
            raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({free >> 20} MiB free, a recording needs "
                          f"{MIN_FREE_BYTES >> 20} MiB to spare)", str(self.path))

    def _compressors(self) -> ThreadPoolExecutor:
        """This writer's compression threads (created on first use, shut down with the file)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=cpu_count(), thread_name_prefix="weldfusion-zlib")
        return self._pool

    def _stop_compressors(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- commit / abort ------------------------------------------------------------------------
    def commit(self) -> Path:
        """Close the temporary file and rename it onto the target path (on any failure, e.g. a full
        disk while HDF5 flushes, everything is discarded as by :meth:`abort`)."""
        if self._done:
            return self.path
        try:
            for appender in self._appenders:
                appender.flush()
            self._stop_compressors()
            if "labels" not in self._h5:
                self.write_labels()
            self._h5.close()
            if self.path.exists() and not self.overwrite:
                raise OutputExists(f"{self.path}: output appeared while writing; not replaced")
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return self.path

    def abort(self) -> None:
        """Discard everything written so far. The temporary file is emptied before HDF5 closes it,
        so that the final flush of a file being discarded cannot fail on a full disk."""
        if self._done:
            return
        self._done = True
        try:
            for appender in self._appenders:
                appender.discard()
            self._stop_compressors()
        finally:
            try:
                if self._h5.id.valid:
                    self._discard_writes()
                    self._h5.close()
            except (OSError, RuntimeError):
                pass  # the file is discarded: a failed flush of it loses nothing
            finally:
                self._tmp.unlink(missing_ok=True)

    def _discard_writes(self) -> None:
        """Point HDF5's file descriptor at an anonymous in-memory file (``/dev/null`` where there is
        none): the flush of a file being discarded then cannot fail on a full disk (a failed
        H5Fclose leaves HDF5 objects that crash the process when they are freed). Only the pages
        HDF5 writes while closing take memory (its metadata: kilobytes)."""
        try:
            fd = self._h5.id.get_vfd_handle()
        except (OSError, ValueError, TypeError):
            return
        null = os.memfd_create("weldfusion-discard") if hasattr(os, "memfd_create") else os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, int(fd))
        finally:
            os.close(null)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
