"""Reading the API's JSON for a renderer: anything not shaped like the answer (a string for a
number, a list for an object, a missing field) becomes one error naming what was being read."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ShapeError(ValueError):
    """The data given to a renderer is not shaped like the API's answer."""


@contextlib.contextmanager
def shaped(what: str, error: type[ShapeError] = ShapeError) -> Iterator[None]:
    """Translate the TypeError, KeyError.. of reading ``what`` into ``error``."""
    try:
        yield
    except ShapeError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
        raise error(f"{what}: not shaped like the API's answer: {exc}") from exc


def reads(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function reading the API's JSON: its shape errors become ShapeError."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            with shaped(what):
                return fn(*args, **kwargs)

        return inner

    return decorate
