"""Types shared by the schemas."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]
"""A time in UTC, shown with its zone (``2026-11-26T06:57:00.123456Z``); naive values (from
the database) are UTC."""
