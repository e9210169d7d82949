"""Discovery of the modalities declared by the sub-packages of ``weldfusion.sensors``.

The canonical order (video, thermal, acoustic, electrical, then any added sensor in
alphabetical order) is the order of presence-mask columns everywhere in the project.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from weldfusion.sensors.modality import Modality

_CORE_ORDER = ("video", "thermal", "acoustic", "electrical")


@cache
def modalities() -> dict[str, Modality]:
    """All declared modalities, keyed by name, in canonical order."""
    import weldfusion.sensors as pkg

    found: dict[str, Modality] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.ispkg:
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        decl = getattr(mod, "MODALITY", None)
        if isinstance(decl, Modality):
            found[decl.name] = decl
    order = [m for m in _CORE_ORDER if m in found] + sorted(set(found) - set(_CORE_ORDER))
    return {name: found[name] for name in order}


def modality_names() -> tuple[str, ...]:
    """Names of all declared modalities in canonical order (presence-mask column order)."""
    return tuple(modalities())


def get(name: str) -> Modality:
    """The declaration of ``name``; ``KeyError`` naming the known modalities otherwise."""
    mods = modalities()
    if name not in mods:
        raise KeyError(f"unknown modality {name!r}; known: {', '.join(mods)}")
    return mods[name]
