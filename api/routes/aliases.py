"""``/aliases``: names for IP addresses (ladder column labels); admins set them."""

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.audit import audit
from api.deps import Admin, Conn, Viewer
from api.errors import bad_request, error_responses, not_found
from api.schemas.misc import AliasIn, AliasList, AliasOut
from db.queries import aliases as q

router = APIRouter(prefix="/aliases", tags=["aliases"])
IpPath = Annotated[str, Path(min_length=2, max_length=45, examples=["192.0.2.10"])]


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise bad_request(f"not an IP address: {text!r}", "ip") from None


def _out(a: q.IpAlias) -> AliasOut:
    return AliasOut(
        ip=a.ip, alias=a.alias, note=a.note, updated_by=a.updated_by, updated_at=a.updated_at
    )


@router.get("", response_model=AliasList, responses=error_responses(401))
async def list_aliases(conn: Conn, who: Viewer) -> AliasList:
    return AliasList(items=[_out(a) for a in await q.list_aliases(conn)])


@router.get("/{ip}", response_model=AliasOut, responses=error_responses(401, 404, 422))
async def get_alias(ip: IpPath, conn: Conn, who: Viewer) -> AliasOut:
    a = await q.get_alias(conn, _ip(ip))
    if a is None:
        raise not_found(f"no alias for {ip}")
    return _out(a)


@router.put("/{ip}", response_model=AliasOut, responses=error_responses(401, 403, 422))
async def set_alias(
    ip: IpPath, body: AliasIn, request: Request, conn: Conn, who: Admin
) -> AliasOut:
    addr = _ip(ip)
    await q.set_alias(conn, addr, body.alias, body.note, who.name)
    await audit(conn, request, who, "alias_set", addr, {"alias": body.alias})
    a = await q.get_alias(conn, addr)
    assert a is not None
    return _out(a)


@router.delete("/{ip}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_alias(ip: IpPath, request: Request, conn: Conn, who: Admin) -> Response:
    addr = _ip(ip)
    if not await q.delete_alias(conn, addr):
        raise not_found(f"no alias for {ip}")
    await audit(conn, request, who, "alias_deleted", addr)
    return Response(status_code=204)
