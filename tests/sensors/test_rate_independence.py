"""A sensor's sampling rate changes what it resolves, not the physical signal (same seed, two rates)."""

from __future__ import annotations

import pytest
from weldfusion.datasets import simulator_checks as checks


@pytest.mark.parametrize(("modality", "factor"), [("acoustic", 3.0), ("acoustic", 0.5), ("electrical", 4.0),
                                                  ("electrical", 0.5), ("thermal", 2.0), ("thermal", 0.5)])
def test_band_powers_agree_below_the_lower_nyquist(modality, factor):
    assert checks.band_power_difference("Al-steel", modality, factor) <= 1.0


def test_laser_video_at_four_times_the_frame_rate():
    """The plume flicker is drawn in time, not per frame: 1 kHz frames see the 250 Hz ones' signal."""
    assert checks.band_power_difference("Ti-Ni", "video", 4.0) <= 1.0


def test_microphone_hears_the_short_circuit_rhythm():
    r = checks.short_circuit_line("Al-steel")
    assert r["line_db"] > 4.0
    assert abs(r["line_hz"] - r["sc_rate_hz"]) < 0.35 * r["sc_rate_hz"], r


def test_shop_noise_floor_is_a_real_shop():
    r = checks.shop_noise_level("Al-steel")
    assert 68.0 <= r["idle_dba"] <= 82.0
    assert r["welding_dba"] > r["idle_dba"] + 10.0  # the arc is well above the shop


def test_rate_checks_only_ask_a_pair_for_its_own_sensors():
    """sim-check's rate table: the laser monitor only on laser runs, the FSW machine only on FSW runs."""
    assert "laser_monitor" not in checks.rate_modalities("Al-steel")
    assert "laser_monitor" in checks.rate_modalities("Ti-Ni")
    assert checks.rate_modalities("Al-Cu") == ("video", "thermal", "acoustic", "fsw_machine")
    with pytest.raises(ValueError, match="no laser_monitor sensor"):
        checks.band_power_difference("Al-steel", "laser_monitor", 2.0)


@pytest.mark.parametrize("factor", [0.5, 4.0])
def test_fsw_machine_data_agree_at_another_rate(factor):
    assert checks.band_power_difference("Al-Cu", "fsw_machine", factor) <= 1.0
