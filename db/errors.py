"""Errors raised by the database layer."""


class DbError(Exception):
    """A database operation failed; the message is one line fit for an operator."""


class SchemaError(DbError):
    """The database schema is missing, too old or newer than this callsift."""
