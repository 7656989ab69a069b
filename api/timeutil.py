"""Times at the API's edge: query parameters may carry a zone; the database holds naive UTC."""

import datetime as dt


def naive_utc(t: dt.datetime | None) -> dt.datetime | None:
    """Aware -> naive UTC; a naive time is taken as UTC already."""
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def as_utc(t: dt.datetime | None) -> dt.datetime | None:
    """Naive UTC (from the database) -> aware UTC, so that JSON shows the zone."""
    return None if t is None else t.replace(tzinfo=dt.UTC)
