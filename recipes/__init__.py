"""Training recipes (YAML) shipped with the package; see :func:`path`."""

from pathlib import Path

from weldfusion.recipes.errors import MissingInput


def path(name: str) -> Path:
    """Path of the shipped recipe ``name`` (with or without ``.yaml``)."""
    here = Path(__file__).parent
    p = here / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not p.is_file():
        known = ", ".join(sorted(q.stem for q in here.glob("*.yaml")))
        raise MissingInput(f"{p}: no such recipe (shipped: {known or 'none'})")
    return p
