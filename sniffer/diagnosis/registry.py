"""The rule registry: a rule is one function ``(facts) -> problems`` registered under its code
with :func:`rule`; :func:`diagnose` runs them all in registration order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from db.records import Problem
from sniffer.diagnosis.facts import Facts

Rule = Callable[[Facts], Iterable[str]]
"""A rule yields one evidence text per occurrence (a direction, a stream): each becomes a
:class:`Problem` with the rule's code."""

RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register ``fn`` as the rule of problem ``code`` (one rule per code)."""

    def register(fn: Rule) -> Rule:
        if code in RULES:
            raise ValueError(f"problem code {code!r} registered twice")
        RULES[code] = fn
        return fn

    return register


def diagnose(facts: Facts, rules: dict[str, Rule] | None = None) -> list[Problem]:
    """Every problem the rules find, in registration order."""
    out: list[Problem] = []
    for code, fn in (rules if rules is not None else RULES).items():
        for detail in fn(facts):  # a loop, not a comprehension: no extra frame per rule
            out.append(Problem(code, detail))
    return out
