"""``weldfusion inspect FILE.h5 [--plot PNG]``: streams, rates, gaps, labels and validator findings.

The implementation lives in :mod:`weldfusion.tools.inspection`. This module is kept tiny because
its file name is also the standard library's ``inspect``: while any script of ``tools/`` runs as
``python tools/<verb>.py``, ``tools/`` is first on ``sys.path`` and ``import inspect`` (done by
``dataclasses``, numpy, torch, ...) finds this file. Imported under that name, it loads the real
standard-library module in its place, so direct script runs keep working.
"""

import sys

if __name__ == "inspect":  # imported as the standard library's ``inspect``: hand over to the real one
    import importlib.util
    import os
    import sysconfig

    _spec = importlib.util.spec_from_file_location("inspect", os.path.join(sysconfig.get_paths()["stdlib"],
                                                                           "inspect.py"))
    _stdlib = importlib.util.module_from_spec(_spec)
    sys.modules["inspect"] = _stdlib
    _spec.loader.exec_module(_stdlib)
else:
    from weldfusion.tools.inspection import cli, main, plot, stream_lines

    __all__ = ["cli", "main", "plot", "stream_lines"]

    if __name__ == "__main__":
        sys.exit(cli())
