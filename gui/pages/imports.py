"""Import a capture: the upload streamed to disk, passed to the API's ``POST /imports`` as a
raw body, then the job followed until its calls are in (under the sensor ``import``)."""

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from gui.deps import Api, Operator
from gui.errors import BadInput, UploadError
from gui.render import page
from gui.session import check_csrf
from gui.upload import receive_upload

log = logging.getLogger(__name__)
router = APIRouter()
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$")]
UPLOAD_TIMEOUT_S = 3600.0
"""A large capture over a slow link to the API: far longer than a page's API timeout."""
POLL_S = 2


async def _form(
    request: Request, api: Api, token: str | None, error: str | None, status: int
) -> Response:
    jobs = (await api.get("/imports", token))["items"]
    cfg = request.app.state.config
    return page(
        request,
        "import.html",
        {"jobs": jobs, "error": error, "max_mb": cfg.import_max_bytes >> 20},
        status,
    )


@router.get("/import")
async def import_form(request: Request, session: Operator, api: Api) -> Response:
    return await _form(request, api, session.token, None, 200)


@router.post("/import")
async def import_upload(request: Request, session: Operator, api: Api) -> Response:
    cfg = request.app.state.config
    try:
        upload = await receive_upload(request, cfg.upload_dir, cfg.import_max_bytes)
    except UploadError as exc:
        return await _form(request, api, session.token, str(exc), exc.status)
    try:
        check_csrf(session, upload.fields.get("csrf_token"))
        try:
            response = await api.request(
                "POST",
                "/imports",
                session.token,
                params={"filename": upload.filename or "upload.pcap"},
                content=upload.chunks(),
                headers={"content-type": "application/octet-stream"},
                timeout=UPLOAD_TIMEOUT_S,
            )
        except BadInput as exc:
            return await _form(request, api, session.token, str(exc), 400)
    finally:
        upload.remove()
    job = response.json()
    log.info(
        "import %s: %s (%d bytes) by %s", job["id"], upload.filename, upload.size, session.username
    )
    return RedirectResponse(f"/import/{job['id']}", status_code=303)


@router.get("/import/{job_id}")
async def import_job(request: Request, job_id: JobId, session: Operator, api: Api) -> Response:
    job = await api.get(f"/imports/{job_id}", session.token)
    return page(
        request,
        "import_job.html",
        {"job": job, "running": job["state"] in ("queued", "running"), "poll_s": POLL_S},
    )
