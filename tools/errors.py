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

import errno
import os
import re
import sys
import warnings
from collections.abc import Callable

from weldfusion.recipes.errors import DataWarning, UserError

#: Control characters (ANSI escapes, carriage returns, bells …) that text from a file must not send
#: to a terminal; tab and newline are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters shown as ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


#: Errors of a full or failing output device: the environment, even when the library that hit them
#: (HDF5, zlib, a thread pool) did not say which file it was writing.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


def _disk_error(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in DISK_ERRNOS


def _environment_error(err: BaseException) -> bool:
    """An OSError from the operating system about a named file (not one raised by our own code),
    or one of a full / failing disk."""
    return isinstance(err, OSError) and err.errno is not None and (err.filename is not None or _disk_error(err))


def user_message(err: BaseException) -> str:
    """The one line shown for a user or environment error."""
    if _environment_error(err) and not isinstance(err, UserError):
        # lazy: outputs pulls in the recipes' file helpers; only a failing write needs it
        from weldfusion.tools.outputs import CLAIMED

        where = err.filename if err.filename is not None else (CLAIMED[-1] if CLAIMED else "output")
        why = os.strerror(err.errno) if _disk_error(err) else err.strerror
        tail = "; nothing was left behind" if _disk_error(err) else ""
        return f"{where}: {why}{tail}"
    return str(err) or type(err).__name__


def run(verb: str, main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; user and environment errors become one line on stderr and exit code 2;
    a :class:`~weldfusion.recipes.errors.DataWarning` becomes one line ``weldfusion <verb>: warning: …``
    (each distinct message once)."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, DataWarning):
            return previous(message, category, filename, lineno, file, line)
        text = printable(str(message))
        if text not in shown:
            shown.add(text)
            print(f"weldfusion {verb}: warning: {text}", file=sys.stderr, flush=True)

    previous = warnings.showwarning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DataWarning)
            warnings.showwarning = show
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
