"""Physical simulator of an FSW machine's process data: (N, 5) float32 at the controller's logging rate.

* ``torque`` (N m): the power the heat flow applied (the cold-plate torque after the stir zone's
  softening, :mod:`weldfusion.sensors.thermal.conduction`) over ``eta * omega``, with the tool's
  run-out (1.5 % at the rotation frequency) and, under galling, stick-slip (8 % at 30-80 Hz);
* ``axial_force`` (kN): the set force of the engaged tool (:mod:`weldfusion.sensors.fsw_process`:
  pin, then shoulder with its seating overshoot) falling with the stir zone's softening (to 70 %
  at a fully softened zone), the imperfections' force change, and an oscillation at the rotation
  frequency (2 %; a tunnel opening and closing behind the pin adds 3x that);
* ``spindle_speed`` (1/min): the set speed with the drive's load droop (1 % at the cold-plate torque);
* ``traverse_speed`` (mm/s) and ``plunge_depth`` (mm, the tool depth plus the imperfections' depth error).

Drawn at :data:`MACHINE_PHYSICS_RATE` (noise as a density referred to :data:`NOISE_REF_RATE`) and
resampled onto the logging clock, so two rates agree below the lower Nyquist frequency.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt
from weldfusion.sensors.electrical.physics import mechanical_power, process_efficiency
from weldfusion.sensors.electrical.simulate import resample_to
from weldfusion.sensors.fsw_process import disturbance
from weldfusion.sensors.scenario import Scenario
from weldfusion.sensors.thermal.conduction import HeatFlow, absorbed_power

#: Internal rate (Hz) every component is drawn at before the controller's anti-aliasing resampler.
MACHINE_PHYSICS_RATE = 10_000.0
#: Rate at which the noise amplitudes below hold (the noise is a spectral density).
NOISE_REF_RATE = 1_000.0
#: Sensor noise (1 sigma at NOISE_REF_RATE): torque N m, force kN, speed rpm, traverse mm/s, depth mm.
NOISE = (0.15, 0.02, 0.5, 0.005, 0.003)
#: Tool run-out (relative torque and force oscillation at the rotation frequency).
RUNOUT_TORQUE, RUNOUT_FORCE = 0.015, 0.02
#: Galling's stick-slip: relative torque amplitude and band (Hz).
STICK_SLIP, STICK_SLIP_HZ = 0.08, (30.0, 80.0)
#: Softening's share of the axial force: the force falls to (1 - this) in a fully softened zone.
FORCE_SOFTENING = 0.3


def torque_nm(power_w: np.ndarray, spindle_rpm: np.ndarray) -> np.ndarray:
    """Spindle torque (N m) that delivers absorbed power ``power_w`` (W) at ``spindle_rpm``: ``P / (eta omega)``."""
    omega = mechanical_power(1.0, spindle_rpm)  # rad/s: the power of 1 N m
    return np.where(omega > 1e-6, power_w / (process_efficiency("FSW") * np.maximum(omega, 1e-6)), 0.0)


def simulate(scn: Scenario, heat: HeatFlow, rate: float) -> np.ndarray:
    """FSW machine channels (N, 5) float32 at ``rate`` Hz (torque N m, axial force kN, spindle 1/min,
    traverse mm/s, plunge depth mm); ``N = round(duration_s * rate)``."""
    rng = scn.rng("daq")
    p = scn.params
    fs = MACHINE_PHYSICS_RATE
    t = np.arange(round(scn.duration_s * fs)) / fs
    rpm = scn.at("spindle_rpm", t)
    dist = disturbance(scn, t)
    applied = heat.power_at(t)  # W, after softening and the imperfections' heat change
    cold = absorbed_power(scn, t)  # W, the same before the stir zone's softening
    soft = np.where(cold > 1.0, np.clip(applied / np.maximum(cold, 1.0), 0.0, 1.0), 1.0)
    angle = 2.0 * np.pi * np.cumsum(rpm / 60.0) / fs + rng.uniform(0, 2 * np.pi)  # tool rotation, rad
    contact = scn.at("tool_depth", t) > 0

    torque = torque_nm(applied, rpm) * (1.0 + RUNOUT_TORQUE * np.sin(angle))
    galling = scn.envelope("galling", t)
    if galling.any():
        sos = butter(2, STICK_SLIP_HZ, btype="band", fs=fs, output="sos")
        slip = sosfilt(sos, rng.standard_normal(t.size))
        torque = torque * (1.0 + STICK_SLIP * galling * slip / max(float(slip.std()), 1e-9))
    wobble = RUNOUT_FORCE * (1.0 + dist["force_wobble"])
    force = (scn.at("force_set", t) * dist["force"] * (1.0 - FORCE_SOFTENING * (1.0 - soft))
             * (1.0 + wobble * np.sin(angle + 0.7)))
    force = np.where(contact, force, 0.0)
    droop = 1.0 - 0.01 * torque / max(p.torque_nm, 1e-6)
    speed = rpm * droop
    depth = np.where(contact, scn.at("tool_depth", t) + dist["depth_mm"], 0.0)
    travel = scn.at("travel", t)

    density = np.sqrt(fs / NOISE_REF_RATE)
    chans = [torque, force, speed, travel, depth]
    noisy = [c + sd * density * rng.standard_normal(t.size) for c, sd in zip(chans, NOISE, strict=True)]
    n_out = round(scn.duration_s * rate)
    return np.stack([resample_to(c, fs, rate, n_out) for c in noisy], axis=1).astype(np.float32)
