"""``/imports``: upload a pcap/pcapng; its calls appear under the ``import`` sensor."""

import os
import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from api.audit import audit
from api.config import IMPORT_SENSOR_NAME
from api.deps import Config, Conn, Operator
from api.errors import ApiError, error_responses, not_found
from api.imports import ImportJob, ImportRunner
from api.schemas.imports import ImportList, ImportOut
from api.upload import receive_capture, safe_filename
from db.queries.imports import register_import_sensor

router = APIRouter(prefix="/imports", tags=["imports"])
MAX_WAITING = 20
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]


def _out(j: ImportJob) -> ImportOut:
    return ImportOut(
        id=j.id,
        filename=j.filename,
        size=j.size,
        user=j.user,
        state=j.state,  # type: ignore[arg-type]
        message=j.message,
        calls=j.calls,
        registrations=j.registrations,
        sensor_id=j.sensor_id,
        created_at=j.created_at,
        started_at=j.started_at,
        finished_at=j.finished_at,
    )


def _runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.imports
    return runner


@router.post(
    "",
    status_code=202,
    response_model=ImportOut,
    responses=error_responses(401, 403, 413, 415, 422, 429, 503),
    summary="Upload a capture to analyse (raw body, or multipart field 'file')",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def upload(
    request: Request,
    conn: Conn,
    cfg: Config,
    who: Operator,
    filename: Annotated[
        str | None, Query(max_length=255, description="name of a raw-body upload")
    ] = None,
) -> JSONResponse:
    """The body is streamed to disk as it arrives and refused past the size limit; the
    analysis runs in the background: poll ``GET /imports/{id}``."""
    folder = cfg.uploads_dir
    if folder is None:
        raise ApiError(
            503, "unavailable", "imports need a spool directory (callsift api --spool DIR)"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cfg.import_max_bytes + 65536:
        raise ApiError(413, "too_large", f"the capture is larger than {cfg.import_max_bytes} bytes")
    runner = _runner(request)
    if runner.queued_or_running() >= MAX_WAITING:
        raise ApiError(
            429,
            "too_many_requests",
            "too many imports waiting: try again later",
            headers={"Retry-After": "30"},
        )
    os.makedirs(folder, mode=0o750, exist_ok=True)
    dest = folder / f"{secrets.token_hex(12)}.upload"
    size, form_name = await receive_capture(
        request.stream(), request.headers.get("content-type", ""), dest, cfg.import_max_bytes
    )
    name = safe_filename(form_name or filename)
    try:
        await register_import_sensor(conn, cfg.import_sensor_id, IMPORT_SENSOR_NAME)
        job = runner.new_job(name, size, who.name, dest)
        await audit(conn, request, who, "import", name, {"job": job.id, "bytes": size})
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    runner.start(job)
    return JSONResponse(
        _out(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"{request.url.path}/{job.id}"},
    )


@router.get("", response_model=ImportList, responses=error_responses(401, 403))
async def list_imports(request: Request, who: Operator) -> ImportList:
    jobs = list(reversed(_runner(request).jobs.values()))
    return ImportList(items=[_out(j) for j in jobs])


@router.get("/{job_id}", response_model=ImportOut, responses=error_responses(401, 403, 404, 422))
async def get_import(job_id: JobId, request: Request, who: Operator) -> ImportOut:
    job = _runner(request).jobs.get(job_id)
    if job is None:
        raise not_found(f"no import {job_id} (jobs are kept in memory: the API may have restarted)")
    return _out(job)
