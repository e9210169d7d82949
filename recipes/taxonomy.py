"""Label taxonomy and labelled intervals: welding phases (single-label) and defects (multi-label, ISO 6520-1 names).

Recipes may override the default lists; a :class:`Taxonomy` is the typed object passed around.
"""

from __future__ import annotations

from dataclasses import dataclass

from weldfusion.recipes.errors import InvalidInput

DEFAULT_PHASES: tuple[str, ...] = ("idle", "arc_start", "deposition", "weaving", "parameter_change", "arc_end")
DEFAULT_DEFECTS: tuple[str, ...] = ("porosity", "lack_of_fusion", "burn_through", "spatter", "undercut", "crack")
#: Friction stir welding's own taxonomy (``process_taxonomy("FSW")``): the tool plunges, dwells to
#: heat the plate, traverses along the joint (with parameter changes) and retracts; its imperfections
#: (ISO 25239-5 / AWS D17.3 names) are a tunnel (wormhole) on the advancing side, a kissing bond (the
#: joint line stirred but not bonded), flash expelled at the shoulder's edge and surface galling.
FSW_PHASES: tuple[str, ...] = ("idle", "plunge", "dwell", "traverse", "parameter_change", "retract")
FSW_DEFECTS: tuple[str, ...] = ("tunnel", "kissing_bond", "flash", "galling")
#: Pairs of the default data set (``weldfusion synth`` without ``--pairs``; a recipe's default ``data.pairs``).
MATERIAL_PAIRS: tuple[str, ...] = ("Al-steel", "Ti-Ni", "Cu-SS")
#: Every pair the toolkit knows (the simulator's Al-Cu is friction stir welded only).
KNOWN_PAIRS: tuple[str, ...] = (*MATERIAL_PAIRS, "Al-Cu")
#: Welding processes the toolkit knows (a recording of another one is accepted with a warning).
PROCESSES: tuple[str, ...] = ("GMAW", "TIG", "laser", "FSW")


@dataclass(frozen=True)
class Taxonomy:
    """Ordered class names; index in the tuple = class id in tensors."""

    phases: tuple[str, ...] = DEFAULT_PHASES
    defects: tuple[str, ...] = DEFAULT_DEFECTS

    def __post_init__(self) -> None:
        for kind, names in (("phases", self.phases), ("defects", self.defects)):
            if not names:
                raise ValueError(f"taxonomy: {kind} must not be empty")
            if len(set(names)) != len(names):
                raise ValueError(f"taxonomy: duplicate names in {kind}: {list(names)}")

    def phase_index(self, label: str) -> int:
        """Class id of phase ``label``; ``ValueError`` naming the allowed labels otherwise."""
        try:
            return self.phases.index(label)
        except ValueError:
            raise InvalidInput(f"unknown phase label {label!r}; allowed: {', '.join(self.phases)}") from None

    def defect_index(self, label: str) -> int:
        """Class id of defect ``label``; ``ValueError`` naming the allowed labels otherwise."""
        try:
            return self.defects.index(label)
        except ValueError:
            raise InvalidInput(f"unknown defect label {label!r}; allowed: {', '.join(self.defects)}") from None


DEFAULT_TAXONOMY = Taxonomy()
#: The taxonomy each process is labelled in (processes not listed: :data:`DEFAULT_TAXONOMY`).
PROCESS_TAXONOMY: dict[str, Taxonomy] = {"FSW": Taxonomy(FSW_PHASES, FSW_DEFECTS)}
#: Every defect name any process taxonomy uses.
ALL_DEFECTS: tuple[str, ...] = (*DEFAULT_DEFECTS, *FSW_DEFECTS)


def process_taxonomy(process: str) -> Taxonomy:
    """The taxonomy recordings of ``process`` are labelled in (the arc/beam one unless listed)."""
    return PROCESS_TAXONOMY.get(process, DEFAULT_TAXONOMY)


@dataclass(frozen=True)
class LabelInterval:
    """A labelled time interval [start_s, end_s) on the recording clock."""

    start_s: float
    end_s: float
    label: str
