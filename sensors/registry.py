"""Discovery of the sensors declared by the sub-packages of ``weldfusion.sensors``.

A sensor is a folder ``sensors/<name>/`` whose ``__init__`` defines ``MODALITY``; its other parts
(``window.py``, ``io.py``, ``derived.py``, ``sync.py``, ``encoder.py``) are found by name with
:func:`part`. The canonical order (video, thermal, acoustic, electrical, then any added sensor in
alphabetical order) is the order of presence-mask columns everywhere in the project.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from weldfusion.recipes.errors import InvalidInput
from weldfusion.sensors.modality import Modality
from weldfusion.sensors.window import ImageWindow, SignalWindow

_CORE_ORDER = ("video", "thermal", "acoustic", "electrical")


@cache
def modalities() -> dict[str, Modality]:
    """All declared modalities, keyed by name, in canonical order."""
    import weldfusion.sensors as pkg  # lazy: the package imports this module

    found: dict[str, Modality] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.ispkg:
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        decl = getattr(mod, "MODALITY", None)
        if isinstance(decl, Modality):
            found[decl.name] = decl
    order = [m for m in _CORE_ORDER if m in found] + sorted(set(found) - set(_CORE_ORDER))
    providers = [n for n in order if found[n].params]
    if len({found[n].params for n in providers}) > 1:
        raise RuntimeError(f"sensors {', '.join(providers)} declare different window params; the process data "
                           "of every process must fill the same ones")
    return {name: found[name] for name in order}


def modality_names() -> tuple[str, ...]:
    """Names of all declared modalities in canonical order (presence-mask column order)."""
    return tuple(modalities())


class UnknownModality(InvalidInput, KeyError):
    """A stream, recipe key or option names a modality no sensor folder declares."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def get(name: str) -> Modality:
    """The declaration of ``name``; :class:`UnknownModality` naming the known modalities otherwise."""
    mods = modalities()
    if name not in mods:
        raise UnknownModality(f"unknown modality {name!r}; known: {', '.join(mods)}")
    return mods[name]


@cache
def part(name: str, module: str) -> ModuleType | None:
    """Module ``sensors/<name>/<module>.py`` of a declared sensor, or None when the folder has none."""
    get(name)
    qualified = f"weldfusion.sensors.{name}.{module}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as err:
        if err.name == qualified:
            return None
        raise


def window_config(name: str) -> type:
    """The window config class a sensor declares (``WINDOW`` in ``window.py``; a plain
    :class:`ImageWindow` / :class:`SignalWindow` by kind when it declares none)."""
    mod = part(name, "window")
    if mod is not None and hasattr(mod, "WINDOW"):
        return mod.WINDOW
    return ImageWindow if get(name).kind == "image" else SignalWindow


def window_params() -> tuple[str, ...]:
    """Names of the per-window process parameters (``params`` of a batch); () when no sensor provides them."""
    for m in modalities().values():
        if m.params:
            return m.params
    return ()


def params_sensors() -> tuple[str, ...]:
    """The sensors that provide the window parameters (the process data of each process: the arc's
    DAQ, an FSW machine), in canonical order; a recording has at most one of them."""
    return tuple(m.name for m in modalities().values() if m.params)

