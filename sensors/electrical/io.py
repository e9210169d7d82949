"""Readers for power-source / DAQ logs: CSV (pandas, in chunks), TDMS (npTDMS, streamed) and
ASAM MDF4 (asammdf: the measurement files of test benches and robot cells) and XDF (pyxdf: a
DAQ recorded as a Lab Streaming Layer stream by LabRecorder; channels by label or index).

The manifest maps every canonical channel (``current`` A, ``voltage`` V, ``wire_feed`` m/min,
``travel_speed`` mm/s) to a column of the file, or to a constant ``value`` (a set-point that
was not logged); ``scale``/``offset`` convert to the canonical units. Blocks come out as
(k, 4) float32 in :data:`~weldfusion.sensors.electrical.CHANNELS` order.

Times: a time column in seconds (``time_unit`` for ms/us/ns) or date-time strings (ISO 8601, or
``time_format``; counted from the manifest's ``time_origin`` or the first row), else the
manifest's ``rate`` (TDMS: the waveform's ``wf_increment``/``wf_start_offset``; MDF4: each
channel's own master time stamps, channels recorded on another raster than the first mapped one
linearly interpolated onto its time stamps). Times that are regular within 1 % of a period make a
regular stream; others are stored per sample.

A missing mapped column, a NaN or non-number, and a time column that is not strictly increasing
(non-monotonic or duplicated) are errors naming the file, the column and the CSV line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from weldfusion.recipes.errors import MissingInput
from weldfusion.sensors.electrical import CHANNEL_UNITS, CHANNELS
from weldfusion.sensors.raw_source import (
    REGULAR_TOLERANCE,
    IngestError,
    RawSource,
    TimeParser,
    TimeScan,
    block_length,
    check_times,
    first_line,
    max_deviation,
    regular_timebase,
    snap_rate,
)
from weldfusion.sensors.stream_spec import ChannelSpec
from weldfusion.sensors.xdf_source import xdf_raw_source, xdf_stream


@dataclass(frozen=True)
class ChannelSet:
    """The canonical channels a process-data reader maps a file's columns onto (``modality`` names the
    sensor in messages and on the :class:`RawSource`). The CSV reader serves any such set."""

    modality: str
    names: tuple[str, ...]
    units: tuple[str, ...]


#: The welding power source / DAQ channels.
ELECTRICAL = ChannelSet("electrical", CHANNELS, CHANNEL_UNITS)


def _csv_rows(n_channels: int = len(CHANNELS)) -> int:
    """Rows per CSV chunk (pandas holds ~64 B per parsed cell)."""
    return block_length((n_channels + 1,), 64)



def check_mapping(where: str, channels: dict[str, ChannelSpec] | None, cs: ChannelSet = ELECTRICAL
                  ) -> dict[str, ChannelSpec]:
    """Every canonical channel of ``cs`` mapped once, nothing else."""
    if not channels:
        raise IngestError(f"{where}.channels: missing; map {', '.join(cs.names)} to columns (or constant values)")
    unknown = sorted(set(channels) - set(cs.names))
    if unknown:
        raise IngestError(f"{where}.channels.{unknown[0]}: not {'an' if cs.modality[0] in 'aeiou' else 'a'} "
                          f"{cs.modality} channel (canonical: {', '.join(cs.names)})")
    missing = [c for c in cs.names if c not in channels]
    if missing:
        raise IngestError(f"{where}.channels: {missing[0]!r} is not mapped (give a column or a constant value)")
    for name, unit in zip(cs.names, cs.units, strict=True):
        given = channels[name].units
        if given is not None and given != unit:
            raise IngestError(f"{where}.channels.{name}.units: {name} is stored in {unit}; convert {given} "
                              "with scale/offset")
    return {c: channels[c] for c in cs.names}


class _Timebase:
    """Outcome of scanning a time column: regular (start, rate) or irregular (rate nominal)."""

    def __init__(self, scan: TimeScan, rate: float | None, regular: bool) -> None:
        self.n = scan.n
        self.start = scan.first
        self.rate = rate
        self.regular = regular
        self.span = (scan.first, scan.last + (1.0 / rate if rate else 0.0))


def _decide(scan: TimeScan, rate: float | None, times_again) -> _Timebase:
    """Regular if every time is within REGULAR_TOLERANCE periods of start + i / rate."""
    if scan.n < 2:
        return _Timebase(scan, rate, regular=rate is not None)
    rate = rate or scan.rate_estimate()
    regular = scan.maybe_regular(rate) and max_deviation(times_again(), scan.first, rate) <= REGULAR_TOLERANCE
    return _Timebase(scan, rate, regular)


# -- CSV ------------------------------------------------------------------------------------------------
class CsvLog:
    """A CSV log opened for chunked reading (``pandas.read_csv(chunksize=...)``)."""

    def __init__(self, path: Path, where: str, channels: dict[str, ChannelSpec], time_column: str | None,
                 parser: TimeParser, delimiter: str | None, decimal: str, cs: ChannelSet = ELECTRICAL) -> None:
        if not path.is_file():
            raise MissingInput(f"{path}: no such file")
        self.path, self.where, self.parser = path, where, parser
        self.channels = check_mapping(where, channels, cs)
        self.kw = {"sep": delimiter or ",", "decimal": decimal}
        try:
            header = pd.read_csv(path, nrows=0, **self.kw)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
            raise IngestError(f"{path}: not a readable CSV ({first_line(err)})") from None
        self.columns = [str(c) for c in header.columns]
        self.time_column = time_column
        if time_column is not None and time_column not in self.columns:
            raise IngestError(f"{path}: time column {time_column!r} not found (columns: {', '.join(self.columns)}; "
                              f"{where}.time_column)")
        self.mapped: dict[str, str] = {}
        for name, spec in self.channels.items():
            if spec.column is None:
                continue
            col = self.columns[spec.column] if isinstance(spec.column, int) and 0 <= spec.column < len(
                self.columns) else spec.column
            if col not in self.columns:
                raise IngestError(f"{path}: column {spec.column!r} for {name!r} not found "
                                  f"(columns: {', '.join(self.columns)}; {where}.channels.{name})")
            self.mapped[name] = str(col)

    def _chunks(self, usecols: list[str]) -> Iterator[tuple[int, pd.DataFrame]]:
        """(CSV line number of the chunk's first row, chunk)."""
        line = 2
        try:
            for chunk in pd.read_csv(self.path, usecols=usecols, chunksize=_csv_rows(len(self.channels)), **self.kw):
                yield line, chunk
                line += len(chunk)
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise IngestError(f"{self.path}: malformed CSV near line {line} ({first_line(err)})") from None

    def _times(self, chunk: pd.DataFrame, line: int) -> np.ndarray:
        col = chunk[self.time_column]
        numeric = pd.to_numeric(col, errors="coerce")
        values = numeric if not (numeric.isna() & col.notna()).any() else col
        return self.parser(values, row_offset=line)

    def time_blocks(self) -> Iterator[np.ndarray]:
        for line, chunk in self._chunks([self.time_column]):
            yield self._times(chunk, line)

    def scan(self) -> TimeScan:
        """Check the time column (finite, strictly increasing) and count the rows."""
        scan = TimeScan(f"{self.path}: column {self.time_column!r}", row_offset=2, word="line")
        for t in self.time_blocks():
            scan.update(t)
        if not scan.n:
            raise IngestError(f"{self.path}: no data rows")
        return scan

    def count_rows(self) -> int:
        usecols = [next(iter(self.mapped.values()))] if self.mapped else [self.columns[0]]
        n = sum(len(chunk) for _, chunk in self._chunks(usecols))
        if not n:
            raise IngestError(f"{self.path}: no data rows")
        return n

    def timed_blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """``(values (k, C) float32, times (k,) or None)`` chunk by chunk, C = the channel set's channels."""
        usecols = list(dict.fromkeys(([self.time_column] if self.time_column else []) + list(self.mapped.values())))
        for line, chunk in self._chunks(usecols):
            out = np.empty((len(chunk), len(self.channels)), dtype=np.float32)
            for j, (name, spec) in enumerate(self.channels.items()):
                if spec.value is not None:
                    out[:, j] = spec.value
                    continue
                col = self.mapped[name]
                raw = chunk[col]
                values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
                bad = np.flatnonzero(~np.isfinite(values))
                if len(bad):
                    cell = raw.iloc[bad[0]]
                    what = "NaN / empty value" if pd.isna(cell) or str(cell).strip().lower() in ("", "nan") else (
                        f"non-numeric value {cell!r}")
                    raise IngestError(f"{self.path}: {what} in column {col!r} at line {line + bad[0]}")
                out[:, j] = values * spec.scale + spec.offset
            times = self._times(chunk, line) if self.time_column else None
            yield out, times


def open_csv(path: Path, *, where: str, channels: dict[str, ChannelSpec] | None, time_column: str | None,
             parser: TimeParser, rate: float | None, start: float, delimiter: str | None = None,
             decimal: str = ".", cs: ChannelSet = ELECTRICAL) -> RawSource:
    """A CSV log as a :class:`RawSource` of (k, C) float32 in the canonical order of ``cs``."""
    log = CsvLog(path, where, channels, time_column, parser, delimiter, decimal, cs)
    source = RawSource(path=path, modality=cs.modality, sample_shape=(len(cs.names),), dtype=np.dtype(np.float32),
                       units="mixed", rate=rate, channel_names=cs.names, channel_units=cs.units)
    if time_column is None:
        if rate is None:
            raise IngestError(f"{where}: give 'time_column' (the CSV's time) or 'rate' (Hz)")
        source.n, source.start = log.count_rows(), start
        source.make_blocks = lambda: (values for values, _ in log.timed_blocks())
        return source
    if start != 0.0:
        raise IngestError(f"{where}.start_time_s: does not apply with 'time_column' (the CSV gives the times)")
    tb = _decide(log.scan(), rate, log.time_blocks)
    if tb.rate is None:
        raise IngestError(f"{path}: a single row and no 'rate'; cannot tell the sample period")
    source.n, source.rate, source.start = tb.n, tb.rate, tb.start
    if tb.regular:
        source.make_blocks = lambda: (values for values, _ in log.timed_blocks())
    else:
        source.make_timed_blocks = log.timed_blocks
        source.known_span = tb.span
    return source


# -- TDMS ------------------------------------------------------------------------------------------------
def open_tdms(path: Path, *, where: str, channels: dict[str, ChannelSpec] | None, group: str | None,
              time_column: str | None, parser: TimeParser, rate: float | None, start: float) -> RawSource:
    """A TDMS file (one group) as a :class:`RawSource`; channels are read by slices, never whole."""
    from nptdms import TdmsFile  # lazy: npTDMS only for TDMS files

    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    mapping = check_mapping(where, channels)
    try:
        with TdmsFile.open(path) as tdms:
            groups = {g.name: g for g in tdms.groups()}
            if group is None:
                if len(groups) != 1:
                    raise IngestError(f"{path}: holds groups {', '.join(groups) or '(none)'}; give 'group' ({where})")
                group = next(iter(groups))
            if group not in groups:
                raise IngestError(f"{path}: no group {group!r} (groups: {', '.join(groups)}; {where}.group)")
            g = groups[group]
            names = [c.name for c in g.channels()]
            wanted = {k: str(s.column) for k, s in mapping.items() if s.column is not None}
            if time_column is not None:
                wanted["time"] = time_column
            for key, ch in wanted.items():
                if ch not in names:
                    raise IngestError(f"{path}: group {group!r} has no channel {ch!r} for {key!r} "
                                      f"(channels: {', '.join(names)})")
            lengths = {ch: len(g[ch]) for ch in wanted.values()}
            props = dict(g[next(iter(wanted.values()))].properties) if wanted else {}
    except (ValueError, KeyError, OSError) as err:
        if isinstance(err, IngestError):
            raise
        raise IngestError(f"{path}: not a readable TDMS file ({first_line(err)})") from None
    if len(set(lengths.values())) > 1:
        raise IngestError(f"{path}: channels differ in length ({lengths})")
    n = next(iter(lengths.values())) if lengths else 0
    if not n:
        raise IngestError(f"{path}: no samples in group {group!r}")
    k = block_length((len(CHANNELS) + 1,), 8)

    def timed_blocks() -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        with TdmsFile.open(path) as tdms:
            g = tdms[group]
            for i0 in range(0, n, k):
                i1 = min(n, i0 + k)
                out = np.empty((i1 - i0, len(CHANNELS)), dtype=np.float32)
                for j, spec in enumerate(mapping.values()):
                    if spec.value is not None:
                        out[:, j] = spec.value
                        continue
                    values = np.asarray(g[str(spec.column)][i0:i1], dtype=np.float64)
                    bad = np.flatnonzero(~np.isfinite(values))
                    if len(bad):
                        raise IngestError(f"{path}: NaN/inf in channel {spec.column!r} at sample {i0 + bad[0]}")
                    out[:, j] = values * spec.scale + spec.offset
                times = parser(pd.Series(g[time_column][i0:i1]), row_offset=i0) if time_column else None
                yield out, times

    source = RawSource(path=path, modality="electrical", sample_shape=(len(CHANNELS),), dtype=np.dtype(np.float32),
                       units="mixed", rate=rate, n=n, channel_names=CHANNELS, channel_units=CHANNEL_UNITS)
    if time_column is None:
        increment = props.get("wf_increment")
        if rate is None and increment:
            rate = 1.0 / float(increment)
        if rate is None:
            raise IngestError(f"{path}: no waveform timing (wf_increment); give 'time_column' or 'rate' ({where})")
        source.rate, source.start = rate, start + float(props.get("wf_start_offset", 0.0))
        source.make_blocks = lambda: (values for values, _ in timed_blocks())
        return source
    scan = TimeScan(f"{path}: channel {time_column!r}")
    for _, t in timed_blocks():
        scan.update(t)
    tb = _decide(scan, rate, lambda: (t for _, t in timed_blocks()))
    source.rate, source.start = tb.rate, tb.start
    if tb.regular:
        source.make_blocks = lambda: (values for values, _ in timed_blocks())
    else:
        source.make_timed_blocks = timed_blocks
        source.known_span = tb.span
    return source


# -- MDF4 ------------------------------------------------------------------------------------------------
def open_mdf(path: Path, *, where: str, channels: dict[str, ChannelSpec] | None, rate: float | None,
             start: float) -> RawSource:
    """An ASAM MDF (v4, v3) file as a :class:`RawSource`: the mapped channels by name, on the time
    stamps of the first mapped channel (``start`` is added; channels on another raster are
    interpolated onto it). The mapped channels are read whole (a DAQ log: megabytes)."""
    # lazy: asammdf only for MDF files
    from asammdf import MDF
    from asammdf.blocks.utils import MdfException

    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    mapping = check_mapping(where, channels)
    wanted = {k: str(s.column) for k, s in mapping.items() if s.column is not None}
    if not wanted:
        raise IngestError(f"{where}.channels: an MDF stream needs at least one channel from the file")
    try:
        mdf = MDF(path)
    except Exception as err:  # noqa: BLE001 - asammdf raises many types for a broken file
        raise IngestError(f"{path}: not a readable MDF file ({first_line(err)})") from None
    signals = {}
    with mdf:
        names = sorted(mdf.channels_db)
        for key, ch in wanted.items():
            if ch not in mdf.channels_db:
                raise IngestError(f"{path}: no channel {ch!r} for {key!r} (channels: {', '.join(names[:20])}"
                                  f"{' ...' if len(names) > 20 else ''}; {where}.channels)")
            try:
                sig = mdf.get(ch)
            except MdfException as err:
                raise IngestError(f"{path}: channel {ch!r}: {err} ({where}.channels.{key})") from None
            if sig.samples.dtype.kind not in "iuf":
                raise IngestError(f"{path}: channel {ch!r} holds {sig.samples.dtype} values, not numbers")
            signals[key] = (np.asarray(sig.samples, dtype=np.float64), np.asarray(sig.timestamps, dtype=np.float64))
    first = next(iter(signals))
    times = check_times(signals[first][1], f"{path}: time stamps of channel {wanted[first]!r}")
    if not len(times):
        raise IngestError(f"{path}: channel {wanted[first]!r} holds no samples")
    out = np.empty((len(times), len(CHANNELS)), dtype=np.float32)
    for j, (key, spec) in enumerate(mapping.items()):
        if spec.value is not None:
            out[:, j] = spec.value
            continue
        values, t = signals[key]
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise IngestError(f"{path}: NaN/inf in channel {spec.column!r} at sample {bad[0]}")
        if len(t) != len(times) or not np.array_equal(t, times):
            check_times(t, f"{path}: time stamps of channel {spec.column!r}")
            values = np.interp(times, t, values)
        out[:, j] = values * spec.scale + spec.offset
    k = block_length((len(CHANNELS),), 4)
    source = RawSource(path=path, modality="electrical", sample_shape=(len(CHANNELS),), dtype=np.dtype(np.float32),
                       units="mixed", rate=rate, n=len(out), channel_names=CHANNELS, channel_units=CHANNEL_UNITS,
                       make_blocks=lambda: (out[i: i + k] for i in range(0, len(out), k)))
    regular = regular_timebase(times, rate)
    if regular is not None:
        source.start, source.rate = start + regular[0], regular[1]
    else:
        source.timestamps = start + times
        if rate is None and len(times) > 1:
            rate = snap_rate((len(times) - 1) / (times[-1] - times[0]))
        source.rate = rate
    return source


# -- XDF -------------------------------------------------------------------------------------------------
def open_xdf(path: Path, *, where: str, channels: dict[str, ChannelSpec] | None, stream: str | None,
             start: float) -> RawSource:
    """One stream of an XDF file (``sensors/xdf_source.py``: recorded clock offsets applied, time 0
    the file's first time stamp) as the electrical :class:`RawSource`; channels by label or index."""
    mapping = check_mapping(where, channels)
    xs = xdf_stream(path, stream, where)
    out = np.empty((len(xs.times), len(CHANNELS)), dtype=np.float32)
    for j, spec in enumerate(mapping.values()):
        if spec.value is not None:
            out[:, j] = spec.value
            continue
        col = spec.column
        if isinstance(col, str) and col in xs.labels:
            col = xs.labels.index(col)
        if isinstance(col, bool) or not isinstance(col, int) or not 0 <= col < len(xs.labels):
            raise IngestError(f"{path}: stream {xs.name!r} has no channel {spec.column!r} "
                              f"(channels: {', '.join(xs.labels)}; {where}.channels)")
        values = xs.values[:, col]
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise IngestError(f"{path}: NaN/inf in channel {spec.column!r} at sample {bad[0]}")
        out[:, j] = values * spec.scale + spec.offset
    return xdf_raw_source(path, xs, out, "electrical", "mixed", start, channel_names=CHANNELS,
                          channel_units=CHANNEL_UNITS)


def _one_file(manifest, name: str, what: str):
    """``(spec, format, files, where, time parser)`` of a process-data stream that is one file."""
    spec = manifest.streams[name]
    fmt = manifest.stream_format(name)
    files = manifest.stream_files(name)
    where = f"{manifest.path}: streams.{name}"
    if len(files) != 1:
        raise IngestError(f"{where}.path: {what} is one file, {len(files)} match {spec.path!r}")
    parser = TimeParser(f"{files[0]}: column {spec.time_column!r}", spec.time_unit, spec.time_format,
                        manifest.time_origin)
    return spec, fmt, files, where, parser


def open_source(manifest, name: str = "electrical") -> RawSource:
    """The manifest's electrical stream as a :class:`RawSource` with its own-clock times."""
    spec, fmt, files, where, parser = _one_file(manifest, name, "an electrical stream")
    if spec.xdf_stream is not None and fmt != "xdf":
        raise IngestError(f"{where}.xdf_stream: only applies to XDF files")
    if fmt == "csv":
        if spec.group is not None:
            raise IngestError(f"{where}.group: only applies to TDMS files")
        source = open_csv(files[0], where=where, channels=spec.channels, time_column=spec.time_column,
                          parser=parser, rate=spec.rate, start=spec.start_time_s, delimiter=spec.delimiter,
                          decimal=spec.decimal)
    elif fmt == "xdf":
        if spec.delimiter is not None or spec.decimal != "." or spec.group is not None or spec.time_column:
            raise IngestError(f"{where}: delimiter/decimal/group/time_column do not apply to XDF files")
        source = open_xdf(files[0], where=where, channels=spec.channels, stream=spec.xdf_stream,
                          start=spec.start_time_s)
    elif fmt == "mdf":
        if spec.delimiter is not None or spec.decimal != "." or spec.group is not None or spec.time_column:
            raise IngestError(f"{where}: delimiter/decimal/group/time_column do not apply to MDF files "
                              "(each channel carries its own time stamps)")
        source = open_mdf(files[0], where=where, channels=spec.channels, rate=spec.rate, start=spec.start_time_s)
    else:
        if spec.delimiter is not None or spec.decimal != ".":
            raise IngestError(f"{where}: delimiter/decimal only apply to CSV files")
        source = open_tdms(files[0], where=where, channels=spec.channels, group=spec.group,
                           time_column=spec.time_column, parser=parser, rate=spec.rate, start=spec.start_time_s)
    source.sensor = spec.sensor
    return source


def open_channel_csv(manifest, name: str, cs: ChannelSet, what: str) -> RawSource:
    """A process monitor's one-file CSV stream ``name`` (laser monitor, FSW machine) as a
    :class:`RawSource` of the channels of ``cs``; ``what`` names it in errors ("a laser-monitor stream")."""
    spec, _, files, where, parser = _one_file(manifest, name, what)
    source = open_csv(files[0], where=where, channels=spec.channels, time_column=spec.time_column, parser=parser,
                      rate=spec.rate, start=spec.start_time_s, delimiter=spec.delimiter, decimal=spec.decimal, cs=cs)
    source.sensor = spec.sensor
    return source
