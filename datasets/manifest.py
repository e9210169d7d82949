"""The ingest manifest ``recording.yaml`` (docs/DESIGN.md "Ingest manifest") as typed dataclasses.

::

    recording_id: run_0007
    material_pair: Al-steel
    material_a: AA6061
    material_b: DC04
    process: GMAW
    streams:
      video:      {path: highspeed.mp4, rate: 2000}              # rate overrides the container's
      thermal:    {path: ir/*.tiff, rate: 200, scale: 0.04, offset: -273.15}
      acoustic:   {path: mic.wav, time_offset_s: -0.012}
      electrical:
        path: daq.csv
        time_column: "Time [s]"
        channels: {current: "I [A]", voltage: "U [V]", wire_feed: "WFS [m/min]",
                   travel_speed: {value: 8.0}}                  # a constant set-point
    labels: {phases: phases.csv, defects: defects.csv}

Paths are relative to the manifest. Sample ``i`` of a stream is at
``start_time_s + i / rate`` on the stream's own clock (or at the times of its ``timestamps`` CSV
/ time column); ``time_offset_s`` is added to reach the recording clock. Unknown keys, wrong
types, keys that do not apply to a modality and unknown modalities raise :class:`ManifestError`
whose one-line message names the manifest file and the key.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from weldfusion.datasets.schema import ROOT_ATTRS
from weldfusion.recipes.config import ConfigError, from_dict
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.recipes.files import atomic_write_text, load_yaml, read_text
from weldfusion.recipes.taxonomy import DEFAULT_TAXONOMY, Taxonomy
from weldfusion.sensors.raw_source import IngestError, natural_key
from weldfusion.sensors.registry import get as get_modality
from weldfusion.sensors.registry import modality_names
from weldfusion.sensors.stream_spec import COMMON_KEYS, EXTENSIONS, ChannelSpec, StreamSpec


def stream_formats(name: str) -> tuple[str, ...] | None:
    """Raw formats the ``name`` sensor reads (its ``Modality.formats``; None = not declared, any)."""
    return get_modality(name).formats or None


def stream_keys(name: str) -> set[str]:
    """Manifest stream keys the ``name`` sensor understands (anything else is an error, never ignored)."""
    return set(COMMON_KEYS) | set(get_modality(name).stream_keys)


class ManifestError(IngestError):
    """Bad manifest; the message names the manifest file and the key."""


@dataclass
class LabelFileSpec:
    """A label file with its format and units (``datasets/label_io.py``)."""

    path: str
    format: Literal["csv", "audacity", "labelstudio", "elan"] | None = None
    unit: Literal["s", "ms", "frames", "mm"] = "s"
    tier: str | None = None  # ELAN tier
    stream: str = "video"  # the stream whose frame numbers ``unit: frames`` counts


@dataclass
class LabelsSpec:
    """Label files: a path (CSV ``start_s,end_s,label`` on the recording clock, Audacity ``.txt``,
    Label Studio ``.json``, ELAN ``.eaf``) or a :class:`LabelFileSpec` mapping."""

    phases: str | LabelFileSpec | None = None
    defects: str | LabelFileSpec | None = None

    def spec(self, table: str) -> LabelFileSpec | None:
        """The table's label file as a :class:`LabelFileSpec` (None when not given)."""
        value = getattr(self, table)
        return LabelFileSpec(path=value) if isinstance(value, str) else value


@dataclass
class TaxonomySpec:
    """The recording's own label names (default: the project taxonomy)."""

    phases: list[str] = field(default_factory=lambda: list(DEFAULT_TAXONOMY.phases))
    defects: list[str] = field(default_factory=lambda: list(DEFAULT_TAXONOMY.defects))


@dataclass
class Manifest:
    """A parsed ``recording.yaml``. ``base`` is the folder paths are relative to."""

    recording_id: str
    material_pair: str
    material_a: str
    material_b: str
    process: str
    streams: dict[str, StreamSpec]
    source: str = "ingest"
    time_origin: str | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)
    labels: LabelsSpec = field(default_factory=LabelsSpec)
    taxonomy: TaxonomySpec | None = None
    path: Path = field(default=Path("recording.yaml"), init=False, compare=False)

    def __post_init__(self) -> None:
        for key in ("recording_id", "material_pair", "material_a", "material_b", "process", "source"):
            if not str(getattr(self, key)).strip():
                raise ValueError(f"{key} must not be empty")

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, rel: str) -> Path:
        """A manifest-relative path (or glob) as an absolute-or-cwd-relative path."""
        p = Path(os.path.expanduser(rel))
        return p if p.is_absolute() else self.base / p

    def label_taxonomy(self, default: Taxonomy = DEFAULT_TAXONOMY) -> Taxonomy:
        if self.taxonomy is None:
            return default
        try:
            return Taxonomy(tuple(self.taxonomy.phases), tuple(self.taxonomy.defects))
        except ValueError as err:
            raise ManifestError(f"{self.path}: taxonomy: {err}") from None

    def stream_format(self, name: str) -> str:
        """The stream's format: the ``format`` key, else from the path's (or its files') extension."""
        spec = self.streams[name]
        allowed = stream_formats(name)
        if spec.format is not None:
            fmt = spec.format.lower()
        else:
            target = self.resolve(spec.path)
            if target.is_dir():
                exts = sorted({p.suffix.lower() for p in target.iterdir() if p.suffix.lower() in EXTENSIONS})
                if len(exts) != 1:
                    raise ManifestError(
                        f"{self.path}: streams.{name}.path: folder {target} holds "
                        + ("no known files" if not exts else f"several kinds of files ({', '.join(exts)})")
                        + "; give 'format'"
                    )
                fmt = EXTENSIONS[exts[0]]
            else:
                fmt = EXTENSIONS.get(Path(spec.path).suffix.lower())
                if fmt is None:
                    raise ManifestError(
                        f"{self.path}: streams.{name}.path: cannot tell the format of {spec.path!r} from its "
                        f"extension; give 'format' (one of {', '.join(allowed or ())})"
                    )
        if allowed is not None and fmt not in allowed:
            raise ManifestError(f"{self.path}: streams.{name}.format: {fmt!r} is not a {name} format "
                                f"(allowed: {', '.join(allowed)})")
        return fmt

    def stream_files(self, name: str) -> list[Path]:
        """Files of a stream: the one file, or the sorted members of a folder / glob. Missing -> error."""
        spec = self.streams[name]
        target = self.resolve(spec.path)
        if any(ch in spec.path for ch in "*?["):
            matched = [Path(p) for p in glob.glob(str(target))]
            _refuse_unreadable([p for p in matched if not p.is_dir()], name, self.path)
            files = sorted((p for p in matched if p.is_file()), key=natural_key)
            if not files:
                raise IngestError(f"{target}: no files match (streams.{name}.path in {self.path})")
            return files
        if target.is_dir():
            members = [p for p in target.iterdir() if p.suffix.lower() in EXTENSIONS]
            _refuse_unreadable(members, name, self.path)
            files = sorted((p for p in members if p.is_file()), key=natural_key)
            if not files:
                raise IngestError(f"{target}: folder holds no readable files (streams.{name}.path in {self.path})")
            return files
        if not target.is_file():
            raise MissingInput(f"{target}: no such file (streams.{name}.path in {self.path})")
        return [target]


def _refuse_unreadable(paths: list[Path], name: str, manifest: Path) -> None:
    """A member of a frame sequence that is not a readable file (a broken link, a symlink loop, a
    device) would be skipped and shift every later frame: refused instead."""
    for p in paths:
        if not p.is_file() and not p.is_dir():
            raise IngestError(f"{p}: not a readable file (broken link or symlink loop?) in the frames of "
                              f"streams.{name}.path ({manifest}); remove it or fix the link")


def _check_mapping(manifest_path: Path, where: str, raw, allowed, required=()) -> dict:
    """``raw`` must be a mapping whose keys are all in ``allowed`` and hold ``required``; returns it."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{manifest_path}: {where or 'top level'}: expected a mapping, got {raw!r}")
    for key in required:
        if key not in raw:
            raise ManifestError(f"{manifest_path}: {where + '.' if where else ''}{key}: missing (required)")
    for key in raw:
        if key not in allowed:
            raise ManifestError(f"{manifest_path}: {where + '.' if where else ''}{key}: unknown key "
                                f"(allowed: {', '.join(sorted(allowed))})")
    return raw


def _init_fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def _required_fields(cls) -> list[str]:
    missing = dataclasses.MISSING
    return [f.name for f in dataclasses.fields(cls)
            if f.init and f.default is missing and f.default_factory is missing]


def _prepare_stream(manifest_path: Path, name: str, raw) -> dict:
    """Check one stream's keys (per modality) and turn its channel mappings into :class:`ChannelSpec`."""
    where = f"streams.{name}"
    if not isinstance(raw, dict):
        raise ManifestError(f"{manifest_path}: {where}: expected a mapping, got {raw!r}")
    allowed = stream_keys(name)
    for key in raw:
        if key in _init_fields(StreamSpec) and key not in allowed:
            raise ManifestError(f"{manifest_path}: {where}.{key}: not used by {name} streams "
                                f"(allowed: {', '.join(sorted(allowed))})")
    _check_mapping(manifest_path, where, raw, allowed, _required_fields(StreamSpec))
    raw = dict(raw)
    channels = raw.get("channels")
    if channels is not None:
        if not isinstance(channels, dict) or not channels:
            raise ManifestError(f"{manifest_path}: {where}.channels: expected a mapping name -> column, "
                                f"got {channels!r}")
        specs = {}
        for ch, value in channels.items():
            key = f"{where}.channels.{ch}"
            if isinstance(value, bool) or not isinstance(value, (str, int, dict)):
                raise ManifestError(f"{manifest_path}: {key}: expected a column name/index or a mapping "
                                    f"with column|value, scale, offset; got {value!r}")
            if isinstance(value, dict):
                _check_mapping(manifest_path, key, value, _init_fields(ChannelSpec))
                try:
                    specs[str(ch)] = from_dict(ChannelSpec, value, prefix=key)
                except ConfigError as err:
                    raise ManifestError(f"{manifest_path}: {err}") from None
            else:
                specs[str(ch)] = ChannelSpec(column=value)
        raw["channels"] = specs
    return raw


def parse_manifest(data: dict, path: str | os.PathLike = "recording.yaml") -> Manifest:
    """Build a :class:`Manifest` from already-loaded YAML data (``path`` is used for messages/paths)."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a YAML mapping at the top level, got {type(data).__name__}")
    _check_mapping(path, "", data, _init_fields(Manifest), _required_fields(Manifest))
    for key in ("labels", "taxonomy"):
        if data.get(key) is not None:
            _check_mapping(path, key, data[key], _init_fields(LabelsSpec if key == "labels" else TaxonomySpec))
    streams = data.get("streams")
    if not isinstance(streams, dict) or not streams:
        raise ManifestError(f"{path}: streams: expected a non-empty mapping of modality -> stream")
    known = modality_names()
    prepared = {}
    for name, raw in streams.items():
        if name not in known:
            raise ManifestError(f"{path}: streams.{name}: unknown modality {name!r} (known: {', '.join(known)})")
        prepared[name] = _prepare_stream(path, name, raw)
    metadata = data.get("metadata")
    clash = sorted(set(ROOT_ATTRS) & set(metadata)) if isinstance(metadata, dict) else []
    if clash:
        raise ManifestError(f"{path}: metadata.{clash[0]}: reserved attribute name")
    try:
        manifest = from_dict(Manifest, {**data, "streams": prepared})
    except ConfigError as err:
        raise ManifestError(f"{path}: {err}") from None
    manifest.path = path
    return manifest


def load_manifest(path: str | os.PathLike) -> Manifest:
    """Read and check ``recording.yaml`` (``yaml.safe_load``)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such manifest file")
    try:
        data = load_yaml(read_text(path, "manifest"), str(path))
    except InvalidInput as err:
        raise ManifestError(str(err)) from None
    return parse_manifest(data, path)


def write_stream_offsets(path: str | os.PathLike, offsets: dict[str, float]) -> None:
    """Set ``streams.<name>.time_offset_s`` in the manifest file, atomically (temp file + rename).

    The YAML is re-emitted with ``yaml.safe_dump`` (comments are not kept).
    """
    path = Path(path)
    data = load_yaml(read_text(path, "manifest"), str(path))
    parse_manifest(data, path)  # refuse to rewrite a manifest that does not parse
    for name, value in offsets.items():
        if name not in data["streams"]:
            raise ManifestError(f"{path}: streams.{name}: no such stream")
        data["streams"][name]["time_offset_s"] = round(float(value), 9)
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
