"""Atomic checkpoints that a run can resume from exactly.

A checkpoint is one ``torch.save`` dict of plain Python values and tensors only, so it loads with
``torch.load(weights_only=True)``. Random-number-generator states of Python, NumPy and torch (CPU
and CUDA) are converted to tensors/ints by :func:`rng_state` and restored by :func:`set_rng_state`.
Files are written to a temporary name in the same folder, flushed to disk and renamed, so a run
killed while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import io
import os
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.recipes.files import temporary_name

FORMAT = "weldfusion-checkpoint"
FORMAT_VERSION = 1


def rng_state() -> dict[str, Any]:
    """RNG states of ``random``, ``numpy.random`` and torch (CPU, and CUDA when initialised) as tensors/ints."""
    version, mt, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": torch.tensor(mt, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + fsync + rename); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    buffer = io.BytesIO()  # serialised in memory: a full disk is then a plain OSError (errno 28) of the write
    torch.save(payload, buffer)
    try:
        with open(tmp, "wb") as fh:
            fh.write(buffer.getbuffer())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; one-line ``ValueError`` if the file is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling problem is a bad input file
        if not zipfile.is_zipfile(path):
            why = "not a torch checkpoint archive"
        elif isinstance(err, pickle.UnpicklingError) or "Weights only load failed" in str(err):
            why = "it holds Python objects other than tensors and plain values; refused (weights_only)"
        else:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            why = first.split(". ")[0][:160]
        raise InvalidInput(f"{path}: not a readable weldfusion checkpoint ({why})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InvalidInput(f"{path}: not a weldfusion checkpoint (missing format={FORMAT!r})")
    if state.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(f"{path}: checkpoint format version {state.get('format_version')} is not supported "
                         f"(expected {FORMAT_VERSION})")
    return state


def model_weights(state: dict[str, Any], path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The checkpoint's ``model`` tensors, checked: a tensor dictionary, every float finite."""
    weights = state.get("model")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise InvalidInput(f"{path}: checkpoint's 'model' is not a tensor dictionary")
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InvalidInput(f"{path}: weight {name} holds NaN/inf (a diverged or damaged run); not used")
    return weights
