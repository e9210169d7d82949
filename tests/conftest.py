"""Fixtures shared by the test packages (tests/<package>/test_*.py).

The helper modules beside this file (``_training_data``, ``_window_recordings``, ``model_fixtures``,
…) write small recordings and build tiny models; this folder is on ``sys.path`` for every test
because pytest inserts a conftest's folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def single_thread():
    """One torch thread for the module (tiny models and batch-1 inference, as the tools run it:
    on a loaded machine extra threads only wait on each other); restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def restore_threads():
    """For verbs that set the process's thread count (``--threads``): restored after the test."""
    saved = torch.get_num_threads()
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def raw_template(tmp_path_factory) -> Path:
    """A 1 s simulated arc recording exported to raw lab files + ``recording.yaml`` (read-only template)."""
    from ingest_helpers import write_arc_recording
    from weldfusion.datasets.raw_export import export_raw

    root = tmp_path_factory.mktemp("raw_template")
    write_arc_recording(root / "truth.h5", duration=1.0, seed=3)
    export_raw(root / "truth.h5", root / "raw", progress=False)
    return root


@pytest.fixture
def raw(raw_template, tmp_path) -> Path:
    """A private, editable copy of the raw files of :func:`raw_template`."""
    shutil.copytree(raw_template / "raw", tmp_path / "raw")
    return tmp_path / "raw"
