"""IP aliases, health."""

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import UtcTime


class AliasIn(BaseModel):
    alias: str = Field(min_length=1, max_length=64, examples=["SBC Frankfurt"])
    note: str = Field(default="", max_length=255)


class AliasOut(BaseModel):
    ip: str = Field(examples=["192.0.2.10"])
    alias: str
    note: str
    updated_by: str
    updated_at: UtcTime


class AliasList(BaseModel):
    items: list[AliasOut]
    next_cursor: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    version: str
