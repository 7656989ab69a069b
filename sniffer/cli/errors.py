"""Exit codes of ``callsift`` and the one place where errors become them.

A command raises :class:`~db.errors.CallsiftError` (or lets it out of an ``asyncio.run``, also
inside an exception group); :func:`report` prints one line per error on stderr and returns the
exit code. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

from db.errors import CallsiftError, ConfigError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TRUNCATED = 3
EXIT_INTERRUPTED = 130

EXIT_HELP = (
    "exit codes: 0 success; 1 error, said in one line on stderr (configuration, capture, "
    "spool, database, journal); 2 bad arguments; 130 interrupted"
)
"""The epilog of every command's ``--help`` (``analyze`` adds code 3)."""
ANALYZE_EXIT_HELP = (
    "exit codes: 0 success; 1 error, said in one line on stderr (a file that cannot be read, "
    "the spool, a call pcap that could not be written, the configuration; with --db: records "
    "left in the journal); 2 bad arguments; "
    "3 a file is truncated or damaged (analysed up to the damage, with a warning); "
    "130 interrupted"
)


class UsageError(ConfigError):
    """Command-line options that do not go together (``--journal`` without ``--db``): the
    configuration error argparse cannot see; exit code 2 like argparse's own."""


def exit_code(exc: CallsiftError) -> int:
    """Bad arguments exit 2, every other error of the tree 1 (docs/ARCHITECTURE.md, "Errors")."""
    return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR


def errors_in(exc: BaseException) -> list[CallsiftError] | None:
    """The callsift errors ``exc`` holds (itself, or every leaf of an exception group); None
    when anything else is among them (a bug: let it show its traceback)."""
    if isinstance(exc, CallsiftError):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        found: list[CallsiftError] = []
        for sub in exc.exceptions:
            leaves = errors_in(sub)
            if leaves is None:
                return None
            found += leaves
        return found
    return None


def report(errors: list[CallsiftError]) -> int:
    """One line per error on stderr (repeated messages once); the highest exit code."""
    seen: set[str] = set()
    for err in errors:
        line = " ".join(str(err).split()) or type(err).__name__
        if line not in seen:
            seen.add(line)
            print(f"callsift: {line}", file=sys.stderr)
    return max(exit_code(e) for e in errors)
