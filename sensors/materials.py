"""Materials and dissimilar material pairs known to the simulator.

Property values are handbook figures near room temperature (conductivity, density, specific heat)
and typical hot-surface emissivities (oxidised solid, molten). They are what the thermal, video and
electrical simulators read; they are deliberately different enough between pairs that a model
trained on one pair must adapt to another.

Conventions: in every simulated run material ``a`` lies on the y < 0 side of the joint
(top rows of the thermal image, left columns of the video frame), material ``b`` on y > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.taxonomy import DEFAULT_DEFECTS, FSW_DEFECTS


@dataclass(frozen=True)
class Material:
    """One alloy (thermal properties are means over 20-1000 degC, the range that matters in welding).

    Attributes:
        name: designation (e.g. ``AA6061``).
        conductivity: thermal conductivity k, W/(m K).
        density: rho, kg/m^3.
        specific_heat: c, J/(kg K).
        melting_point_c: liquidus temperature, degC.
        emissivity: total emissivity of the hot, oxidised solid surface (0-1).
        emissivity_liquid: emissivity of the molten pool (0-1).
        reflectance: visible reflectance of the plate (how bright it looks in arc light, 0-1).
        boiling_point_c: boiling point of the base metal at 1 atm, degC (no surface gets hotter).
        latent_heat_j_kg: latent heat of fusion L, J/kg.
    """

    name: str
    conductivity: float
    density: float
    specific_heat: float
    melting_point_c: float
    emissivity: float
    emissivity_liquid: float
    reflectance: float
    boiling_point_c: float
    latent_heat_j_kg: float

    @property
    def diffusivity_mm2_s(self) -> float:
        """Thermal diffusivity a = k / (rho c) in mm^2/s."""
        return self.conductivity / (self.density * self.specific_heat) * 1e6

    @property
    def conductivity_w_mm_k(self) -> float:
        """k in W/(mm K)."""
        return self.conductivity / 1000.0


MATERIALS: dict[str, Material] = {
    m.name: m
    for m in (
        Material("AA6061", 180.0, 2700.0, 1000.0, 652.0, 0.12, 0.18, 0.80, 2470.0, 397000),
        Material("DC04", 38.0, 7850.0, 640.0, 1530.0, 0.65, 0.35, 0.45, 2862.0, 270000),
        Material("Ti6Al4V", 13.0, 4430.0, 640.0, 1660.0, 0.45, 0.30, 0.50, 3287.0, 290000),
        Material("Ni200", 62.0, 8890.0, 520.0, 1446.0, 0.35, 0.28, 0.60, 2913.0, 298000),
        Material("C11000", 360.0, 8900.0, 420.0, 1083.0, 0.15, 0.12, 0.70, 2562.0, 205000),
        Material("316L", 22.0, 8000.0, 560.0, 1400.0, 0.50, 0.30, 0.50, 2862.0, 270000),
    )
}


@dataclass(frozen=True)
class ProcessParams:
    """Nominal set points of one process on one pair.

    For ``laser`` the electrical channels are the laser diode driver's current and voltage, scaled
    so that ``U * I`` equals the beam power; ``wire_feed`` is 0 (autogenous) and there is no short
    circuit. ``ocv_v`` is the open-circuit (or standby) voltage while the source is on without an arc.
    """

    current_a: float
    voltage_v: float
    wire_feed_m_min: float
    travel_mm_s: float
    sc_rate_hz: float = 0.0
    ocv_v: float = 0.0


@dataclass(frozen=True)
class FswParams:
    """Nominal set points and tool of friction stir welding one pair (position-controlled plunge).

    Attributes:
        spindle_rpm: tool rotation speed, 1/min.
        traverse_mm_s: traverse (welding) speed, mm/s.
        torque_nm: spindle torque with the shoulder fully engaged in plate still near room
            temperature, N m (it falls as the stir zone softens: :mod:`weldfusion.sensors.thermal.conduction`).
        axial_force_kn: axial (forge) force at full plunge depth, kN.
        shoulder_radius_mm, pin_radius_mm, pin_length_mm: tool geometry, mm.
        shoulder_plunge_mm: how far the shoulder sinks below the plate surface, mm.
        tool_offset_mm: lateral position of the tool axis relative to the joint (negative = into
            material a, the softer aluminium, so that the pin only scrapes the harder side).
        defect_weights: relative frequency of each FSW imperfection (:data:`FSW_DEFECTS`).
    """

    spindle_rpm: float
    traverse_mm_s: float
    torque_nm: float
    axial_force_kn: float
    shoulder_radius_mm: float
    pin_radius_mm: float
    pin_length_mm: float
    shoulder_plunge_mm: float
    tool_offset_mm: float
    defect_weights: dict[str, float] = field(default_factory=dict)

    @property
    def travel_mm_s(self) -> float:  # the name the arc processes' code reads
        return self.traverse_mm_s


@dataclass(frozen=True)
class PairSpec:
    """A dissimilar material pair and how it is welded in the simulator.

    Attributes:
        name: one of :data:`weldfusion.recipes.taxonomy.MATERIAL_PAIRS`.
        material_a, material_b: keys of :data:`MATERIALS` (a on y < 0, b on y > 0).
        default_process: process used when none is given.
        processes: nominal :class:`ProcessParams` per supported arc/beam process, :class:`FswParams` for ``FSW``.
        thickness_mm: sheet thickness (the heat flow is thickness-averaged: :mod:`weldfusion.sensors.thermal.conduction`).
        preheat_c: plate temperature before welding, degC.
        torch_offset_mm: nominal lateral torch/beam offset from the joint (negative = towards a).
        side_voltage_v: arc-voltage difference when the arc root sits on b instead of a (cathode
            fall / oxide film); seen during weaving.
        defect_weights: relative frequency of each arc/beam defect class on this pair (FSW's are in
            its :class:`FswParams`).
    """

    name: str
    material_a: str
    material_b: str
    default_process: str
    processes: dict[str, ProcessParams | FswParams]
    thickness_mm: float
    preheat_c: float
    torch_offset_mm: float
    side_voltage_v: float
    defect_weights: dict[str, float] = field(default_factory=dict)

    @property
    def a(self) -> Material:
        return MATERIALS[self.material_a]

    @property
    def b(self) -> Material:
        return MATERIALS[self.material_b]

    def params(self, process: str) -> ProcessParams | FswParams:
        """Nominal set points for ``process``; ``ValueError`` if the pair has none."""
        if process not in self.processes:
            raise InvalidInput(
                f"pair {self.name}: process {process!r} is not simulated (have: {', '.join(self.processes)})"
            )
        return self.processes[process]


PAIRS: dict[str, PairSpec] = {
    "Al-steel": PairSpec(
        name="Al-steel",
        material_a="AA6061",
        material_b="DC04",
        default_process="GMAW",
        processes={
            "GMAW": ProcessParams(90.0, 14.0, 5.5, 8.0, sc_rate_hz=75.0, ocv_v=62.0),  # CMT-like weld-brazing
            "TIG": ProcessParams(110.0, 12.5, 1.0, 4.0, ocv_v=70.0),
            "laser": ProcessParams(55.0, 38.0, 0.0, 25.0),
            # 2 mm lap/butt FSW of aluminium to steel: the pin offset into the aluminium scrapes 0.3 mm of steel
            "FSW": FswParams(1000.0, 4.0, 24.0, 6.5, shoulder_radius_mm=6.0, pin_radius_mm=2.5, pin_length_mm=1.8,
                             shoulder_plunge_mm=0.15, tool_offset_mm=-2.2,
                             defect_weights={"tunnel": 0.30, "kissing_bond": 0.25, "flash": 0.25, "galling": 0.20}),
        },
        thickness_mm=2.0,
        preheat_c=25.0,
        torch_offset_mm=-2.0,  # arc on the aluminium: the steel is wetted, not melted (weld-brazing)
        side_voltage_v=0.35,
        defect_weights={"porosity": 0.20, "lack_of_fusion": 0.15, "burn_through": 0.10,
                        "spatter": 0.20, "undercut": 0.20, "crack": 0.15},
    ),
    "Ti-Ni": PairSpec(
        name="Ti-Ni",
        material_a="Ti6Al4V",
        material_b="Ni200",
        default_process="laser",
        processes={
            "laser": ProcessParams(48.0, 37.5, 0.0, 20.0),
            "TIG": ProcessParams(95.0, 11.5, 0.8, 3.0, ocv_v=70.0),
            "GMAW": ProcessParams(105.0, 18.0, 5.0, 6.0, sc_rate_hz=85.0, ocv_v=60.0),
        },
        thickness_mm=1.5,
        preheat_c=25.0,
        torch_offset_mm=0.3,
        side_voltage_v=-0.25,
        defect_weights={"porosity": 0.15, "lack_of_fusion": 0.15, "burn_through": 0.15,
                        "spatter": 0.10, "undercut": 0.20, "crack": 0.25},
    ),
    "Cu-SS": PairSpec(
        name="Cu-SS",
        material_a="C11000",
        material_b="316L",
        default_process="GMAW",
        processes={
            "GMAW": ProcessParams(185.0, 20.5, 7.5, 6.0, sc_rate_hz=95.0, ocv_v=65.0),
            "TIG": ProcessParams(170.0, 13.5, 1.2, 2.5, ocv_v=70.0),
            "laser": ProcessParams(70.0, 40.0, 0.0, 15.0),
        },
        thickness_mm=4.0,
        preheat_c=150.0,
        torch_offset_mm=-1.0,
        side_voltage_v=0.45,
        defect_weights={"porosity": 0.15, "lack_of_fusion": 0.25, "burn_through": 0.10,
                        "spatter": 0.20, "undercut": 0.20, "crack": 0.10},
    ),
    "Al-Cu": PairSpec(
        name="Al-Cu",
        material_a="AA6061",
        material_b="C11000",
        default_process="FSW",
        processes={
            # 3 mm butt FSW, copper on the advancing side, tool offset 1.5 mm into the aluminium
            "FSW": FswParams(1200.0, 3.0, 30.0, 9.0, shoulder_radius_mm=7.5, pin_radius_mm=3.0, pin_length_mm=2.8,
                             shoulder_plunge_mm=0.15, tool_offset_mm=-1.5,
                             defect_weights={"tunnel": 0.30, "kissing_bond": 0.25, "flash": 0.20, "galling": 0.25}),
        },
        thickness_mm=3.0,
        preheat_c=25.0,
        torch_offset_mm=-1.5,
        side_voltage_v=0.0,
    ),
}

for _p in PAIRS.values():  # keep the table honest at import time
    if any(not isinstance(v, FswParams) for v in _p.processes.values()):
        assert set(_p.defect_weights) == set(DEFAULT_DEFECTS), _p.name
    for _v in _p.processes.values():
        if isinstance(_v, FswParams):
            assert set(_v.defect_weights) == set(FSW_DEFECTS), _p.name
    assert _p.default_process in _p.processes, _p.name


def boiling_point_c(material: str | None) -> float:
    """Boiling point of ``material`` (degC); for a material not in :data:`MATERIALS`, the highest known."""
    if material in MATERIALS:
        return MATERIALS[material].boiling_point_c
    return max(m.boiling_point_c for m in MATERIALS.values())


def get_pair(name: str) -> PairSpec:
    """The :class:`PairSpec` called ``name``; ``ValueError`` naming the known pairs otherwise."""
    try:
        return PAIRS[name]
    except KeyError:
        raise InvalidInput(f"unknown material pair {name!r}; known: {', '.join(PAIRS)}") from None
