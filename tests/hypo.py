"""Hypothesis profiles of the suite (docs: CONTRIBUTING.md, "Tests").

* ``callsift`` (the full run, ``make test``): every property test runs the examples it asks
  for (``examples(300)`` is 300), without deadlines: no timing assertion in a unit test, and
  hypothesis' default 200 ms deadline per example failed fuzz tests (DeadlineExceeded, then
  FlakyFailure) on the shared 2-core machine under load.
* ``fast`` (the inner loop): a tenth of them, at least 10 (or all when a test asks for fewer).
  Chosen automatically when ``-m`` deselects the slow tests (``pytest -m "not slow"``, ``make
  test-fast``) unless ``--hypothesis-profile`` names one; the full run still goes through the
  whole search space, and examples that ever failed are replayed first from hypothesis'
  example database in both profiles.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

DEFAULT_EXAMPLES = 100
"""hypothesis' own default ``max_examples``: the ``callsift`` profile keeps it."""
FAST_EXAMPLES = 10
"""The ``fast`` profile's default ``max_examples``: ``examples(n)`` scales by its ratio."""
MIN_EXAMPLES = 10


def register_profiles() -> None:
    settings.register_profile("callsift", deadline=None, max_examples=DEFAULT_EXAMPLES)
    settings.register_profile("fast", deadline=None, max_examples=FAST_EXAMPLES)


def select_profile(config: pytest.Config) -> None:
    """``fast`` for a run that deselects the slow tests, unless a profile is named."""
    if config.getoption("--hypothesis-profile", None):
        return
    if "not slow" in (config.getoption("markexpr", "") or ""):
        settings.load_profile("fast")


def examples(n: int) -> int:
    """How many examples a test that wants ``n`` in the full run gets in the current profile
    (read when the test module is imported, after the profile is chosen)."""
    scaled = n * settings.default.max_examples // DEFAULT_EXAMPLES
    return max(min(n, MIN_EXAMPLES), scaled)
