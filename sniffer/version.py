"""The installed callsift version."""

from importlib.metadata import PackageNotFoundError, version


def callsift_version() -> str:
    try:
        return version("callsift")
    except PackageNotFoundError:
        return "0"
