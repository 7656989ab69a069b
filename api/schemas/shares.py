"""Share links."""

import ipaddress
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import UtcTime


class ShareCreate(BaseModel):
    expires_in_hours: int = Field(default=72, ge=1, le=24 * 365)
    max_downloads: int = Field(default=10, ge=1, le=1000)
    redact_ips: Annotated[list[str], Field(max_length=50)] = Field(
        default_factory=list, description="addresses replaced consistently in the pcap and texts"
    )
    mask_numbers: bool = Field(default=False, description="mask caller/called numbers")
    keep_digits: int = Field(default=4, ge=0, le=8, description="last digits left visible")
    note: str = Field(default="", max_length=255)

    @field_validator("redact_ips")
    @classmethod
    def _ips(cls, v: list[str]) -> list[str]:
        out = []
        for ip in v:
            try:
                out.append(str(ipaddress.ip_address(ip)))
            except ValueError:
                raise ValueError(f"not an IP address: {ip!r}") from None
        return out


class ShareOut(BaseModel):
    id: int
    call_id: int
    created_by: str
    created_at: UtcTime
    expires_at: UtcTime
    max_downloads: int
    downloads: int
    revoked_at: UtcTime | None
    redact_ips: list[str]
    mask_numbers: bool
    keep_digits: int
    note: str


class ShareCreated(ShareOut):
    token: str = Field(description="the secret of the link: shown this once")
    url: str = Field(description="path of the link (no login needed)")


class ShareList(BaseModel):
    items: list[ShareOut]
    next_cursor: str | None = None


class SharedCall(BaseModel):
    """What a share link shows: the call's summary (redacted) and the files it serves."""

    call_id: str
    caller: str
    called: str
    invite_ts: str
    duration_s: float
    final_code: int | None
    state: str
    expires_at: UtcTime
    downloads_left: int
    files: list[str]
