"""Friction stir welding machine data: (N, 5) float32 spindle torque, axial force, spindle speed,
traverse speed and plunge depth — what an FSW machine's controller logs (there is no arc current or voltage).

Channels: ``torque`` (N m, spindle torque), ``axial_force`` (kN, the forge force on the tool),
``spindle_speed`` (1/min), ``traverse_speed`` (mm/s), ``plunge_depth`` (mm, pin tip below the plate
surface). The window adds the mechanical power ``torque x omega`` and the heat input from it
(:mod:`.derived`), and fills the window parameters of the knowledge guidance (the same four as the
arc's DAQ: current and voltage 0, travel speed = traverse speed, heat input). FSW controllers log
at 100 Hz-1 kHz (the simulator's default: 1 kHz). Not part of the default data
(``data.modalities.fsw_machine`` is null unless a recipe names it; ``recipes/al-steel_fsw.yaml`` and
``recipes/al-cu_fsw.yaml`` do).
"""

from weldfusion.sensors.electrical import PARAMS
from weldfusion.sensors.modality import Modality

CHANNELS = ("torque", "axial_force", "spindle_speed", "traverse_speed", "plunge_depth")
CHANNEL_UNITS = ("N m", "kN", "rpm", "mm/s", "mm")

MODALITY = Modality(
    name="fsw_machine",
    kind="signal",
    units="mixed",
    channels=CHANNELS,
    channel_units=CHANNEL_UNITS,
    description="friction stir welding machine: spindle torque, axial force, spindle speed, traverse speed, plunge depth",
    formats=("csv",),
    stream_keys=frozenset({"time_column", "time_unit", "time_format", "channels", "delimiter", "decimal"}),
    # the process parameters of MS-STAN's knowledge guidance, as the arc's DAQ gives them: no arc current
    # or voltage (0), the traverse speed and the heat input from the spindle power (:mod:`.derived`)
    params=PARAMS,
    # gantry and robotic FSW machines: spindles to ~300 N m and ~6000 rpm, forge forces to ~100 kN
    plausible={"torque": (-50.0, 500.0), "axial_force": (-5.0, 150.0), "spindle_speed": (-100.0, 8000.0),
               "traverse_speed": (-1.0, 100.0), "plunge_depth": (-5.0, 30.0)},
)
