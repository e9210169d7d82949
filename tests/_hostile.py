"""The hostile-input corpus: broken recordings, recipes, manifests and checkpoints made from good ones.

Each case is ``(name, make)`` where ``make(path)`` turns the good file copied to ``path`` into the
broken one in place. Cases are documented by their name; ``tests/tools/test_hostile_corpus.py``
runs every case through every verb that reads it.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np


def _attr(obj: str, key: str, value) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with h5py.File(path, "r+") as h5:
            if value is None:
                del h5[obj].attrs[key]
            else:
                h5[obj].attrs[key] = value
    return make


def _dataset(obj: str, data=None, **kw) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with h5py.File(path, "r+") as h5:
            if obj in h5:
                del h5[obj]
            if data is not None:
                h5.create_dataset(obj, data=data, **kw)
            elif kw:
                h5.create_dataset(obj, **kw)
    return make


def _irregular(ts_fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    """Thermal stream turned into a timestamped one with ``ts_fn(regular_times)``."""
    def make(path: Path) -> None:
        with h5py.File(path, "r+") as h5:
            g = h5["streams/thermal"]
            n, rate, st = g["data"].shape[0], float(g.attrs["rate"]), float(g.attrs["starting_time"])
            del g.attrs["starting_time"]
            g.create_dataset("timestamps", data=ts_fn(st + np.arange(n) / rate))
    return make


def _data(obj: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with h5py.File(path, "r+") as h5:
            arr = fn(h5[obj][()])
            del h5[obj]
            h5.create_dataset(obj, data=arr)
    return make


def _labels(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    return _data("labels/phases", fn)


def _set_row(arr: np.ndarray, field: str, value: float) -> np.ndarray:
    arr = arr.copy()
    arr[1][field] = value
    return arr


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00garbage" * 64)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _huge_frames(path: Path) -> None:
    with h5py.File(path, "r+") as h5:
        g = h5["streams/video"]
        del g["data"]
        g.create_dataset("data", shape=(36, 10**6, 10**6), dtype="u1", chunks=(1, 64, 64))


def _empty_stream(path: Path) -> None:
    with h5py.File(path, "r+") as h5:
        del h5["streams/acoustic/data"]
        h5["streams/acoustic"].create_dataset("data", shape=(0,), dtype="f4")


#: (case, how the good recording is broken). Readers must refuse each with one line naming the file.
RECORDING_CASES: list[tuple[str, Callable[[Path], None]]] = [
    ("not_hdf5", _garbage),
    ("truncated_file", _truncate),
    ("format_version_2", _attr("/", "format_version", 2)),
    ("format_version_string", _attr("/", "format_version", "one")),
    ("wrong_format", _attr("/", "format", "nwb")),
    ("missing_process", _attr("/", "process", None)),
    ("no_streams_group", _dataset("streams")),
    ("unknown_modality", lambda p: _copy_group(p, "streams/acoustic", "streams/lidar")),
    ("gaps_nan", _dataset("streams/electrical/gaps", np.array([[np.nan, 1.0]]))),
    ("gaps_reversed", _dataset("streams/electrical/gaps", np.array([[1.2, 1.0]]))),
    ("gaps_out_of_span", _dataset("streams/electrical/gaps", np.array([[50.0, 60.0]]))),
    ("gaps_wrong_shape", _dataset("streams/electrical/gaps", np.array([1.0, 2.0, 3.0]))),
    ("timestamps_nan", _irregular(lambda t: np.where(np.arange(len(t)) == 5, np.nan, t))),
    ("timestamps_decreasing", _irregular(lambda t: t[::-1].copy())),
    ("timestamps_duplicated", _irregular(lambda t: np.repeat(t[::2], 2)[: len(t)])),
    ("timestamps_wrong_length", _irregular(lambda t: t[:-3])),
    ("zero_length_stream", _empty_stream),
    ("rate_negative", _attr("streams/acoustic", "rate", -4000.0)),
    ("rate_zero", _attr("streams/acoustic", "rate", 0.0)),
    ("rate_1e12", _attr("streams/acoustic", "rate", 1e12)),
    ("rate_1e-9", _attr("streams/acoustic", "rate", 1e-9)),
    ("rate_string", _attr("streams/acoustic", "rate", "fast")),
    ("rate_missing", _attr("streams/acoustic", "rate", None)),
    ("starting_time_nan", _attr("streams/electrical", "starting_time", np.nan)),
    ("starting_time_1e7", _attr("streams/electrical", "starting_time", 1e7)),
    ("label_end_before_start", _labels(lambda a: _set_row(a, "end_s", 0.1))),
    ("label_nan", _labels(lambda a: _set_row(a, "start_s", np.nan))),
    ("labels_wrong_dtype", _dataset("labels/phases", np.arange(12, dtype="i4").reshape(4, 3))),
    ("video_2d", _data("streams/video/data", lambda a: a[:, :, 0])),
    ("video_two_channels", _data("streams/video/data", lambda a: np.stack([a, a], axis=-1))),
    ("video_huge_frames", _huge_frames),
    ("samples_strings", _dataset("streams/electrical/data", np.array([b"x"] * 8))),
]


def _copy_group(path: Path, src: str, dst: str) -> None:
    with h5py.File(path, "r+") as h5:
        h5.copy(src, dst)
        h5[dst].attrs["modality"] = dst.rsplit("/", 1)[-1]


def make_case(good: Path, folder: Path, case: str) -> Path:
    """A copy of ``good`` in ``folder`` broken as ``case`` says; returns its path."""
    make = dict(RECORDING_CASES)[case]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case}.h5"
    shutil.copyfile(good, path)
    make(path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (relative), hidden ones included: nothing may be left behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- checkpoints -------------------------------------------------------------------------------------
class _Evil:
    """Unpickling this would call ``print``: ``weights_only`` must refuse it."""

    def __reduce__(self):
        return (print, ("unpickled: weights_only was not used",))


def _state_edit(fn: Callable[[dict], object]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        import torch

        state = torch.load(path, weights_only=True)
        torch.save(fn(dict(state)), path)
    return make


def _nan_weights(state: dict) -> dict:
    state["model"] = {k: v.clone().fill_(float("nan")) if v.is_floating_point() else v for k, v in state["model"].items()}
    return state


def _drop(key: str) -> Callable[[dict], dict]:
    def fn(state: dict) -> dict:
        del state[key]
        return state
    return fn


def _set(key: str, value) -> Callable[[dict], dict]:
    def fn(state: dict) -> dict:
        state[key] = value
        return state
    return fn


CHECKPOINT_CASES: list[tuple[str, Callable[[Path], None]]] = [
    ("not_a_checkpoint", lambda p: p.write_bytes(b"not a checkpoint")),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])),
    ("malicious_pickle", _state_edit(lambda s: {**s, "payload": _Evil()})),
    ("nan_weights", _state_edit(_nan_weights)),
    ("no_config", _state_edit(_drop("config"))),
    ("no_format", _state_edit(_drop("format"))),
    ("missing_tensors", _state_edit(lambda s: {**s, "model": dict(list(s["model"].items())[::2])})),
    ("nan_thresholds", _state_edit(_set("thresholds", [float("nan")] * 6))),
    ("short_thresholds", _state_edit(_set("thresholds", [0.5]))),
    ("bad_info", _state_edit(_set("info", {"bad": 1}))),
    ("bad_norm", _state_edit(_set("norm", "x"))),
    ("a_list", _state_edit(lambda s: [1, 2, 3])),
]


def make_checkpoint_case(good: Path, folder: Path, case: str) -> Path:
    """A copy of checkpoint ``good`` in ``folder`` broken as ``case`` says."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case}.pt"
    shutil.copyfile(good, path)
    dict(CHECKPOINT_CASES)[case](path)
    return path


# -- ingest manifests ----------------------------------------------------------------------------------
def _stream_key(name: str, key: str, value) -> Callable[[dict], None]:
    def fn(data: dict) -> None:
        data["streams"][name][key] = value
    return fn


def _top(key: str, value) -> Callable[[dict], None]:
    def fn(data: dict) -> None:
        data[key] = value
    return fn


#: Manifest edits that describe an impossible recording: ``ingest`` refuses each with one line.
MANIFEST_CASES: list[tuple[str, Callable[[dict], None]]] = [
    ("time_offset_inf", _stream_key("video", "time_offset_s", float("inf"))),
    ("time_offset_1e10", _stream_key("video", "time_offset_s", 1e10)),
    ("time_offset_1e6", _stream_key("video", "time_offset_s", 1e6)),  # 11 days from the other streams
    ("start_time_nan", _stream_key("thermal", "start_time_s", float("nan"))),
    ("rate_1e-9", _stream_key("thermal", "rate", 1e-9)),
    ("rate_1e12", _stream_key("video", "rate", 1e12)),
    ("rate_negative", _stream_key("video", "rate", -250.0)),
    ("rate_string", _stream_key("video", "rate", "fast")),
    ("scale_nan", _stream_key("thermal", "scale", float("nan"))),
    ("below_absolute_zero", lambda d: d["streams"]["thermal"].update(scale=0.001, offset=-300.0)),
    ("gap_nan", _stream_key("electrical", "gaps", [[float("nan"), 0.5]])),
    ("gap_reversed", _stream_key("electrical", "gaps", [[0.6, 0.5]])),
    ("no_streams", _top("streams", {})),
    ("streams_a_list", _top("streams", ["video"])),
    ("unknown_key", _top("colour", "blue")),
    ("unknown_modality", lambda d: d["streams"].update(lidar={"path": "video.mp4"})),
    ("labels_point_at_system_file", lambda d: d["labels"].update(phases="/etc/passwd")),
    ("labels_missing_file", lambda d: d["labels"].update(phases="nowhere.csv")),
    ("missing_stream_file", _stream_key("acoustic", "path", "nowhere.wav")),
    ("recording_id_empty", _top("recording_id", "")),
]

#: Manifest edits that are implausible, not impossible: ``ingest`` writes the file and warns.
MANIFEST_WARNINGS: list[tuple[str, Callable[[dict], None], str]] = [
    ("thermal_rate_covers_a_quarter", _stream_key("thermal", "rate", 200.0), "spans disagree"),
    ("unknown_pair", _top("material_pair", "Mg-Al"), "not a default pair"),
    ("unknown_process", _top("process", "EBW"), "not one the toolkit knows"),
    ("thermal_above_boiling", lambda d: d["streams"]["thermal"].update(scale=1.0, offset=3000.0), "boiling"),
]
