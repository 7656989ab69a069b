"""Share links: an operator makes an expiring, revocable link to one call's evidence pack;
the link works without login and reaches nothing else."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.audit import audit
from api.auth.tokens import digest, new_share_token
from api.deps import Config, Conn, Operator
from api.errors import ApiError, error_responses, not_found
from api.evidence import FILES, build_file, redactor_for
from api.media.audio import AudioError
from api.routes.callfiles import CallId, load_call, pcap_name
from api.schemas.shares import ShareCreate, ShareCreated, SharedCall, ShareList, ShareOut
from api.spool import call_pcap
from db.queries import shares as q
from db.queries.apiauth import utcnow
from db.read import get_call

router = APIRouter(tags=["shares"])
public = APIRouter(prefix="/share", tags=["shares"])
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{43}$", description="the link's secret")]
FileName = Annotated[
    str, Path(pattern="^(evidence\\.zip|call\\.pcap|sip-flow\\.txt|summary\\.json|audio\\.wav)$")
]


def _out(s: q.ShareLink) -> dict[str, Any]:
    return dict(
        id=s.id,
        call_id=s.cdr_id,
        created_by=s.created_by,
        created_at=s.created_at,
        expires_at=s.expires_at,
        max_downloads=s.max_downloads,
        downloads=s.downloads,
        revoked_at=s.revoked_at,
        redact_ips=list(s.redact_ips),
        mask_numbers=s.mask_numbers,
        keep_digits=s.keep_digits,
        note=s.note,
    )


@router.post(
    "/calls/{call_id}/share",
    status_code=201,
    response_model=ShareCreated,
    responses=error_responses(401, 403, 404, 422),
)
async def create_share(
    call_id: CallId, body: ShareCreate, request: Request, conn: Conn, cfg: Config, who: Operator
) -> ShareCreated:
    """A link to this call's evidence pack that works without login until it expires, is
    revoked or has served ``max_downloads`` files. The token is in this answer only."""
    if body.expires_in_hours > cfg.share_max_days * 24:
        raise ApiError(
            422,
            "invalid_parameter",
            f"a link lives at most {cfg.share_max_days} days",
            field="expires_in_hours",
        )
    call = await load_call(conn, call_id, who.sensor_scope)
    token = new_share_token()
    sid = await q.create_share(
        conn,
        token_hash=digest(token),
        cdr_id=call["id"],
        invite_ts=call["invite_ts"],
        created_by=who.name,
        expires_at=utcnow() + dt.timedelta(hours=body.expires_in_hours),
        max_downloads=body.max_downloads,
        redact_ips=body.redact_ips,
        mask_numbers=body.mask_numbers,
        keep_digits=body.keep_digits,
        note=body.note,
    )
    await audit(
        conn,
        request,
        who,
        "share_created",
        str(call_id),
        {
            "share": sid,
            "expires_in_hours": body.expires_in_hours,
            "redacted": bool(body.redact_ips or body.mask_numbers),
        },
    )
    share = await q.share_by_id(conn, sid)
    assert share is not None
    return ShareCreated(**_out(share), token=token, url=f"/api/v1/share/{token}")


@router.get(
    "/calls/{call_id}/shares",
    response_model=ShareList,
    responses=error_responses(401, 403, 404, 422),
)
async def list_shares(call_id: CallId, conn: Conn, who: Operator) -> ShareList:
    await load_call(conn, call_id, who.sensor_scope)
    return ShareList(items=[ShareOut(**_out(s)) for s in await q.shares_of_call(conn, call_id)])


@router.delete("/shares/{share_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def revoke_share(
    share_id: Annotated[int, Path(ge=1, le=0xFFFFFFFF)], request: Request, conn: Conn, who: Operator
) -> Response:
    """Revoke now: the link stops working at once."""
    share = await q.share_by_id(conn, share_id)
    if share is None or await get_call(conn, share.cdr_id, who.sensor_scope) is None:
        raise not_found(f"no share link with id {share_id}")
    if not await q.revoke_share(conn, share_id):
        raise not_found(f"share link {share_id} is revoked already")
    await audit(conn, request, who, "share_revoked", str(share.cdr_id), {"share": share_id})
    return Response(status_code=204)


async def _live_share(conn: Any, token: str) -> q.ShareLink:
    share = await q.share_by_hash(conn, digest(token))
    if share is None:
        raise not_found("no such link")
    if (
        share.revoked_at is not None
        or share.expires_at <= utcnow()
        or share.downloads >= share.max_downloads
    ):
        raise ApiError(410, "gone", "this link has expired, was revoked or was used up")
    return share


async def _shared(conn: Any, cdr_id: int) -> dict[str, Any]:
    try:
        return await load_call(conn, cdr_id, None)
    except ApiError:
        raise ApiError(410, "gone", "the call of this link no longer exists (retention)") from None


@public.get("/{token}", response_model=SharedCall, responses=error_responses(404, 410, 422))
async def shared_call(token: Token, conn: Conn) -> SharedCall:
    """What the link holds (no login; not counted as a download)."""
    share = await _live_share(conn, token)
    call = await _shared(conn, share.cdr_id)
    r = redactor_for(call, share.redact_ips, share.mask_numbers, share.keep_digits)
    return SharedCall(
        call_id=r.text(call["call_id"]),
        caller=r.text(call["caller"]),
        called=r.text(call["called"]),
        invite_ts=call["invite_ts"].replace(tzinfo=dt.UTC).isoformat(),
        duration_s=call["duration_s"],
        final_code=call["final_code"],
        state=call["state"],
        expires_at=share.expires_at,
        downloads_left=share.max_downloads - share.downloads,
        files=list(FILES) if call["pcap"] else ["summary.json"],
    )


@public.get(
    "/{token}/{name}",
    response_class=StreamingResponse,
    responses={
        200: {"description": "one file of the evidence pack"},
        **error_responses(404, 410, 415, 422),
    },
)
async def shared_file(
    token: Token, name: FileName, request: Request, conn: Conn, cfg: Config
) -> StreamingResponse:
    """One file of the pack, or the whole pack as ``evidence.zip``; each counts a download."""
    share = await _live_share(conn, token)
    call = await _shared(conn, share.cdr_id)
    pcap = call_pcap(cfg.spool_dir, call["pcap"]) if name != "summary.json" else None
    if not await q.count_download(conn, share.id):
        raise ApiError(410, "gone", "this link has expired, was revoked or was used up")
    r = redactor_for(call, share.redact_ips, share.mask_numbers, share.keep_digits)
    redact = bool(share.redact_ips or share.mask_numbers)
    try:
        chunks, media = await run_in_threadpool(build_file, name, call, pcap, r, redact)
    except AudioError as exc:
        raise ApiError(404, "no_audio", str(exc)) from exc
    await audit(
        conn,
        request,
        None,
        "share_download",
        str(call["id"]),
        {"share": share.id, "file": name},
        actor=f"share:{share.id}",
        actor_kind="share",
    )
    filename = pcap_name(call).removesuffix(".pcap") + "-" + name
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
