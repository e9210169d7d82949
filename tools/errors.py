"""One-line errors for the command-line tools.

Tools raise :class:`InputError` (or ``FileNotFoundError``/``FileExistsError``/``ValueError``
from the library) for bad input; :func:`run` turns them into ``weldfusion <verb>: error: …``
on stderr and exit code 2. Set ``WELDFUSION_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


class InputError(Exception):
    """Bad user input; the message names the file and the problem."""


USER_ERRORS = (InputError, FileNotFoundError, FileExistsError, ValueError, KeyError, OSError)


def run(verb: str, main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; user errors become one line on stderr and exit code 2."""
    try:
        return int(main(argv) or 0)
    except KeyboardInterrupt:
        print(f"weldfusion {verb}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        if os.environ.get("WELDFUSION_DEBUG"):
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"weldfusion {verb}: error: {msg}", file=sys.stderr)
        return 2
