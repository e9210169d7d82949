"""User errors: the one exception family that the command line shows as one line and exit code 2.

A :class:`UserError` is a mistake in what the user handed in — a file, a recipe key, an option —
and its message names the file (or option) and the problem. Anything else that escapes a verb is a
bug and surfaces as a traceback (exit code 1). The subclasses also derive from the matching
built-in exception, so library callers can keep catching ``ValueError`` / ``FileNotFoundError`` /
``FileExistsError``.

This module imports nothing of weldfusion: every layer may raise these.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad user input; the message names the file (or option) and the problem."""


class InvalidInput(UserError, ValueError):
    """A value in a file, recipe or option that cannot be used."""


class MissingInput(UserError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class OutputExists(UserError, FileExistsError):
    """An output exists and ``--force`` was not given (or the output would replace an input)."""


class UnreadableInput(UserError, OSError):
    """A file the user named exists but cannot be read as what it should be (e.g. not HDF5)."""


class DataWarning(UserWarning):
    """Input that is used with a documented handling (e.g. NaN samples treated as missing); the
    command line shows it as one line ``weldfusion <verb>: warning: <file>: <what>``, once."""
