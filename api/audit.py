"""Writing the audit log from routes: who (the principal), what, from where."""

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from api.auth.principal import Principal
from db.connect import CONNECTION
from db.queries.audit import add_audit


async def audit(
    conn: CONNECTION,
    request: Request,
    who: Principal | None,
    action: str,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    actor_kind: str | None = None,
) -> None:
    await add_audit(
        conn,
        actor=actor or (who.name if who else "anonymous"),
        actor_kind=actor_kind or (who.kind if who else "anon"),
        action=action,
        target=target,
        ip=request.client.host if request.client else None,
        detail=detail,
    )
