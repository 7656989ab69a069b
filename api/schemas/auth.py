"""Login, sessions, users, API tokens, the audit log."""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import UtcTime

Role = Literal["viewer", "operator", "admin"]
USERNAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
SensorId = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
SensorScope = Annotated[list[SensorId], Field(max_length=200)] | None


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "correct horse battery"}]}
    )
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires", examples=[3600])
    username: str
    role: Role


class Me(BaseModel):
    kind: Literal["user", "token"]
    name: str
    role: Role
    sensor_scope: SensorScope = Field(description="sensor ids this caller sees; null: all")
    expires_at: UtcTime | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=256)


class UserCreate(BaseModel):
    username: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@+-]+$", examples=["alice"]
    )
    password: str = Field(min_length=10, max_length=256)
    role: Role
    sensor_scope: SensorScope = None

    @field_validator("username")
    @classmethod
    def _name(cls, v: str) -> str:
        if not USERNAME.fullmatch(v):
            raise ValueError("letters, digits and . _ @ + - only, at most 64")
        return v


class UserUpdate(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    sensor_scope: SensorScope = Field(
        default=None, description="sensor ids; send null together with all_sensors=true for all"
    )
    all_sensors: bool = Field(default=False, description="clear the scope: every sensor")
    password: str | None = Field(default=None, min_length=10, max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    disabled: bool
    sensor_scope: SensorScope
    created_at: UtcTime
    updated_at: UtcTime
    last_login_at: UtcTime | None


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["prometheus-exporter"])
    role: Role
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    sensor_scope: SensorScope = None


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="first characters of the token, to recognise it")
    role: Role
    sensor_scope: SensorScope
    created_by: str
    created_at: UtcTime
    expires_at: UtcTime | None
    revoked_at: UtcTime | None
    last_used_at: UtcTime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret: shown this once, stored only hashed")


class TokenList(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None = None


class AuditOut(BaseModel):
    id: int
    ts: UtcTime
    actor: str
    actor_kind: str
    action: str
    target: str
    ip: str | None
    detail: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None = None
