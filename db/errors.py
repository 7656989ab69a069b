"""The one exception tree of callsift (docs/ARCHITECTURE.md, "Errors").

Every error meant for an operator derives from :class:`CallsiftError`; its message is one line
that names the problem (the file, key, interface, host...). Foreign errors (driver, OS, parser)
are translated where they enter (``raise StorageError(...) from exc``): callers above that
boundary catch these classes only. The CLI turns them into one line on stderr and an exit code
in one place (sniffer/cli/errors.py).

Wire-parser errors are not here: they are ``ValueError`` subclasses next to their parsers,
counted by the packet loop and never shown to a user as such.

::

    CallsiftError
    ├── ConfigError          bad settings, flags or config file
    ├── CaptureError         a packet source cannot be opened or read
    ├── SpoolError           the per-call pcap spool cannot be used
    ├── StorageError         records cannot be stored
    │   ├── JournalError     the on-disk journal cannot be used
    │   └── DbError          a database operation failed
    │       ├── DbUnavailable    transient: unreachable, lost, timed out, busy
    │       ├── DbRejected       permanent: credentials, unknown database, permission
    │       │   └── SchemaError  schema missing, too old or unknown
    │       └── DbDataError      a record's content was refused
    ├── AuthError            authentication or authorisation failed
    ├── MirrorError          a mirror stream failed
    └── ShutdownTimeout      a service did not stop within its deadline
"""


class CallsiftError(Exception):
    """Root of every error reported to an operator; ``str(exc)`` is one line."""


class ConfigError(CallsiftError):
    """Bad configuration (settings, flags, config file): the message names the key (and its
    environment variable) and the problem."""


class CaptureError(CallsiftError):
    """A packet source cannot be opened or read: the message names the file or interface and
    the problem (missing, not a capture, permission, filter)."""


class SpoolError(CallsiftError):
    """The per-call pcap spool cannot be used (directory not writable, bad limits, closed)."""


class StorageError(CallsiftError):
    """Records cannot be stored (the writer, its journal or the database)."""


class JournalError(StorageError):
    """The on-disk journal cannot be used: its directory, lock, a segment, a full disk."""


class DbError(StorageError):
    """A database operation failed. Raised by ``db/`` only, always one of the three kinds
    below when it comes from the server or the network."""


class DbUnavailable(DbError):
    """Transient: the server cannot be reached, the connection was lost, an answer did not
    come in time, or the server is busy (too many connections, deadlock, read-only during a
    fail-over). Retrying later can succeed."""


class DbRejected(DbError):
    """Permanent: the server refuses the request itself (wrong credentials, unknown database,
    missing privilege, a statement it cannot run). Retrying cannot help until an operator acts."""


class SchemaError(DbRejected):
    """The database schema is missing, older than this callsift needs, or inconsistent."""


class DbDataError(DbError):
    """The content of a record was refused (a value out of range, a bad string): that record
    cannot be stored as it is, the others can."""


class AuthError(CallsiftError):
    """Authentication or authorisation failed (API credentials or tokens, mirror streams)."""


class MirrorError(CallsiftError):
    """A mirror stream (sender or receiver) cannot be opened or failed."""


class ShutdownTimeout(CallsiftError):
    """A service did not finish its shutdown within its deadline."""
