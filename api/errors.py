"""Errors as JSON: ``{"error": CODE, "message": ONE LINE, "field": NAME|null}`` for every
status, with the handlers that make FastAPI's and the database's errors look the same."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.errors import DbError

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    error: str = Field(description="machine-readable code", examples=["not_found"])
    message: str = Field(description="one line for a person", examples=["no call with id 42"])
    field: str | None = Field(
        default=None, description="the parameter at fault (422)", examples=["mos_below"]
    )


class ApiError(Exception):
    """Raised by routes: becomes an :class:`ErrorBody` response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, "invalid_parameter", message, field=field)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "too_many_requests",
    503: "unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {c: {"model": ErrorBody, "description": _CODES.get(c, "error")} for c in codes}


def _json(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=code, message=message, field=field)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = dict(exc.headers) if exc.headers else None
        return _json(exc.status_code, _CODES.get(exc.status_code, "error"), message, None, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or None
        msg = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        message = f"invalid {name!r}: {msg}" if name else msg
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        return _json(422, "invalid_parameter", message, name)

    @app.exception_handler(DbError)
    async def _db_error(_request: Request, exc: DbError) -> JSONResponse:
        log.error("database error: %s", exc)
        return _json(
            503,
            "database_unavailable",
            "the database is unavailable: try again later",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _json(500, "internal_error", "internal error (logged on the server)")


def json_model(model: BaseModel, status: int = 200) -> Response:
    """A model as the JSON response, serialised once (FastAPI would validate it again against
    the route's ``response_model``, which still documents it)."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")
