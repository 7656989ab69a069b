"""Errors of the storage layer."""


class StorageError(Exception):
    """The writer or its journal cannot do what was asked (one line, fit for an operator)."""


class CodecError(ValueError):
    """A journal line is not a record this version can read."""
