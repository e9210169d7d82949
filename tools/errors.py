"""How a verb ends: user errors as one line and exit code 2, bugs as a traceback.

:func:`run` calls a verb's ``main``. It shows as ``weldfusion <verb>: error: <message>`` on stderr,
with exit code 2:

- a :class:`~weldfusion.recipes.errors.UserError` (bad file, recipe key, option; the message names it);
- an ``OSError`` raised by the operating system for a named file (``errno`` and ``filename`` set:
  permission denied, disk full, read-only file system …) — the environment, not the code.

Everything else (``KeyError``, ``ValueError``, ``TypeError`` … from inside the code) is a bug: it
propagates, Python prints the traceback, and the exit code is 1. ``WELDFUSION_DEBUG=1`` shows the
traceback of a user error too.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable

from weldfusion.recipes.errors import UserError

#: Control characters (ANSI escapes, carriage returns, bells …) that text from a file must not send
#: to a terminal; tab and newline are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters shown as ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _environment_error(err: BaseException) -> bool:
    """An OSError from the operating system about a named file (not one raised by our own code)."""
    return isinstance(err, OSError) and err.errno is not None and err.filename is not None


def user_message(err: BaseException) -> str:
    """The one line shown for a user or environment error."""
    if _environment_error(err) and not isinstance(err, UserError):
        return f"{err.filename}: {err.strerror}"
    return str(err) or type(err).__name__


def run(verb: str, main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; user and environment errors become one line on stderr and exit code 2."""
    try:
        return int(main(argv) or 0)
    except KeyboardInterrupt:
        print(f"weldfusion {verb}: interrupted", file=sys.stderr)
        return 130
    except (UserError, OSError) as err:
        if os.environ.get("WELDFUSION_DEBUG") or not (isinstance(err, UserError) or _environment_error(err)):
            raise
        message = " ".join(printable(user_message(err)).split("\n"))
        print(f"weldfusion {verb}: error: {message}", file=sys.stderr)
        return 2
