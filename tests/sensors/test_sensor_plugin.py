"""A sensor is one folder: a made-up strain gauge (``tests/plugin_sensor/strain/``, a new folder
only) goes through ingest -> HDF5 -> windows -> model -> training step -> streaming."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHAIN = Path(__file__).parent / "plugin_sensor" / "run_chain.py"


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("plugin")
    proc = subprocess.run([sys.executable, str(CHAIN), str(work)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_folder_declares_a_modality_and_ingest_writes_a_valid_file(chain):
    assert chain["modalities"] == ["video", "thermal", "acoustic", "electrical", "emission", "fsw_machine", "laser_monitor",
                                  "strain"]
    assert chain["validate"] == []


def test_windows_carry_the_new_sensor_aligned_to_the_recording_clock(chain):
    assert chain["strain_shape"] == [1, 40]  # (C, S) from the sensor's own window config
    assert chain["present"] == {"electrical": True, "strain": True}
    # the gauge reads 40 um/m per s after ignition at 0.5 s on its own clock, which runs 12 ms behind
    expected = 40 * (chain["strain_t0"] - 0.012 - 0.5)
    assert chain["strain_first_raw"] == pytest.approx(expected, abs=3.0)


def test_the_model_trains_its_encoder_and_streaming_matches_offline(chain):
    assert chain["loss_finite"] and chain["strain_grad"] > 0  # gradient reaches the new encoder
    assert chain["stream_windows"] >= 20 and chain["stream_strain_present"] == chain["stream_windows"]
    assert chain["stream_max_diff"] <= 1e-5
