"""The analyzer's process-wide collector setting (sniffer/analyzer_config.py)."""

import gc
from collections.abc import Iterator

import pytest

from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("threshold")
def test_an_analyzer_raises_the_young_threshold_and_keeps_the_others() -> None:
    gc.set_threshold(700, 11, 12)
    Analyzer(1, lambda rec: None)
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 11, 12)


@pytest.mark.usefixtures("threshold")
@pytest.mark.parametrize("young", [0, GC_YOUNG_THRESHOLD, 5 * GC_YOUNG_THRESHOLD])
def test_a_higher_threshold_or_a_collector_turned_off_is_kept(young: int) -> None:
    gc.set_threshold(young, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (young, 10, 10)
