"""The output rules every verb follows (one implementation):

- an existing output is refused unless ``--force`` (:func:`output_file`, :func:`output_dir`,
  :func:`staged_output`); an output that would replace one of the verb's inputs is refused even then;
- missing parent folders are created;
- a file output must have one of the verb's suffixes (``--plot x.png``, ``--out x.h5`` …);
- report folders are written through a hidden staging folder and moved into place together
  (:func:`staged_output`), JSON files through a temporary file and a rename (:func:`write_json`),
  so a failure half-way (a plot that cannot be drawn, a full disk, Ctrl-C) leaves the output as it was;
- temporaries are named ``.<name>.tmp<pid>`` (:func:`~weldfusion.recipes.files.temporary_name`);
  those of killed processes are removed when an output is next claimed beside them;
- every output a verb claims is remembered (:data:`CLAIMED`), so a full disk is reported naming it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput, OutputExists
from weldfusion.recipes.files import remove_stale_temporaries, temporary_name

#: The outputs claimed by this process (newest last): :mod:`.errors` names the newest when the
#: disk fills up inside a library that does not say which file it was writing (HDF5, zlib).
CLAIMED: list[Path] = []


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(out: Path, inputs: Iterable[str | os.PathLike]) -> None:
    """Refuse an output path that is (or, for a folder, contains) one of the verb's inputs."""
    for given in inputs:
        src = Path(given)
        if _same_file(out, src) or (out.is_dir() and src.exists() and out.resolve() in src.resolve().parents):
            raise InvalidInput(f"{out}: is an input of this command ({src}); choose another output")


def output_file(path: str | os.PathLike, *, force: bool = False, suffixes: tuple[str, ...] = (),
                inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """A file the verb will write: suffix checked, never an input, existing only with ``force``;
    parent folders created. Returns it as a Path."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise InvalidInput(f"{path}: output must end in {' or '.join(suffixes)}")
    check_not_input(path, inputs)
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder, expected a file path")
    if path.exists() and not force:
        raise OutputExists(f"{path}: already exists (pass --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    CLAIMED.append(path)
    return path


def output_dir(path: str | os.PathLike, *, force: bool = False, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """A folder the verb will fill: a non-empty existing one only with ``force``, never one holding
    an input; parent folders created (the folder itself is created by the verb)."""
    path = Path(path)
    check_not_input(path, inputs)
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{path}: exists and is not a folder")
    remove_stale_temporaries(path)
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OutputExists(f"{path}: already exists and is not empty (pass --force to replace its contents)")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    CLAIMED.append(path)
    return path


def claim(path: str | os.PathLike) -> Path:
    """Remember ``path`` as this process's newest output (see :data:`CLAIMED`) and return it."""
    CLAIMED.append(Path(path))
    return Path(path)


@contextmanager
def staged_output(out: str | os.PathLike, *, force: bool = False,
                  inputs: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Yield an empty hidden staging folder inside ``out``; on normal exit rename its entries into ``out``.

    ``out`` must be new or empty unless ``force`` (:func:`output_dir`); with ``force``, entries of
    the same name already in ``out`` are replaced (folders as a whole), others are kept. The
    staging folder lies inside ``out`` so that the final moves are renames on one file system
    (no copies, even when ``out`` is a mount point): a full disk or a kill while the files are
    written leaves ``out`` as it was. On an exception nothing is moved, the staging folder is
    removed, and so is ``out`` if this call created it.
    """
    out = output_dir(out, force=force, inputs=inputs)
    created = not out.exists()
    out.mkdir(exist_ok=True)
    stage = temporary_name(out / "staging")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        for f in sorted(stage.iterdir()):
            target = out / f.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(f, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def exclusive(folder: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder/.lock`` for the block; :class:`OutputExists` if another
    process holds it (two ``train`` runs on one ``--out``). The lock file is removed afterwards."""
    import fcntl  # lazy: POSIX only, and only the verbs that lock need it

    folder = Path(folder)
    lock = folder / ".lock"
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputExists(f"{folder}: another {what} is using this folder; wait for it or choose "
                               "another --out") from None
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # while still holding it: a waiting process then finds no lock


def write_json(path: str | os.PathLike, obj, *, force: bool = False) -> Path:
    """Write ``obj`` as indented JSON to ``path`` (or stdout for ``-``) through a temporary file + rename."""
    if str(path) == "-":
        print(json.dumps(obj, indent=2))
        return Path("-")
    path = output_file(path, force=force, suffixes=(".json",))
    tmp = temporary_name(path)
    try:
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_figure(fig, path: str | os.PathLike, dpi: int = 100, **savefig) -> Path:
    """Save a matplotlib figure to ``path`` through a temporary file and a rename; the figure is closed."""
    import matplotlib.pyplot as plt  # lazy: only verbs that draw load matplotlib

    path = Path(path)
    tmp = temporary_name(path)
    try:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png", **savefig)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
