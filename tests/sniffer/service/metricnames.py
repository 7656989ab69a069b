"""Metric names: the ones docs/SENSOR.md lists, the ones a scrape shows."""

import re
from pathlib import Path

SENSOR_DOC = Path(__file__).resolve().parents[3] / "docs" / "SENSOR.md"


def documented_metrics() -> set[str]:
    """The metric names docs/SENSOR.md's table lists (labels left out)."""
    text = SENSOR_DOC.read_text()
    section = text[text.index("## Metrics and health") :]
    return set(re.findall(r"^\| `(callsift_[a-z_]+)(?:\{[a-z_]+\})?` \|", section, re.M))


def exposed_metrics(scrape: str) -> set[str]:
    """Every name a scrape shows, as a query names it (counters end in ``_total``)."""
    names: set[str] = set()
    for line in scrape.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind == "counter" and not name.endswith("_total"):
                name += "_total"
            names.add(name)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
