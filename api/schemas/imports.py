"""Capture imports."""

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import UtcTime


class ImportOut(BaseModel):
    id: str = Field(examples=["3f9c0a1b2c3d4e5f"])
    filename: str
    size: int = Field(description="bytes received")
    user: str
    state: Literal["queued", "running", "done", "failed"]
    message: str = Field(description="the outcome, or why it failed", examples=["3 calls imported"])
    calls: int
    registrations: int
    sensor_id: int = Field(description="the calls appear under this sensor (named 'import')")
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None


class ImportList(BaseModel):
    items: list[ImportOut]
    next_cursor: str | None = None
