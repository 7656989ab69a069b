"""The GUI's only way to data: the REST API, with the user's token, every request under a
timeout, every failure translated into a :mod:`gui.errors` class (the API's own message kept).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any

import httpx

from gui.config import GuiConfig
from gui.errors import (
    ApiError,
    ApiUnavailable,
    BadInput,
    Forbidden,
    NotFound,
    NotLoggedIn,
    Throttled,
)

log = logging.getLogger(__name__)

Params = dict[str, str] | list[tuple[str, str]] | None
CONNECT_TIMEOUT_S = 5.0
CHUNK = 64 * 1024
CACHE_TTL_S = 15.0
CACHE_MAX = 512


def _query(params: Params) -> httpx.QueryParams | None:
    if params is None:
        return None
    pairs = params.items() if isinstance(params, dict) else params
    return httpx.QueryParams(tuple((k, v) for k, v in pairs))


def _error_for(status: int) -> type[ApiError]:
    if status == 401:
        return NotLoggedIn
    if status == 403:
        return Forbidden
    if status in (404, 410):
        return NotFound
    if status == 429:
        return Throttled
    if 400 <= status < 500:
        return BadInput
    return ApiUnavailable


def translate(response: httpx.Response, body: bytes | None = None) -> ApiError:
    """The error of an API answer >= 400 (its JSON ``message`` and ``field`` when it has them)."""
    message, field = f"the API answered {response.status_code}", None
    try:
        data = httpx.Response(200, content=body if body is not None else response.content).json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = str(data.get("message") or data.get("detail") or message)
        field = data.get("field") if isinstance(data.get("field"), str) else None
    return _error_for(response.status_code)(message, field)


class ApiClient:
    """One connection pool to the API for the whole GUI (an async context manager)."""

    def __init__(self, config: GuiConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.base = config.api_base
        self.timeout_s = config.api_timeout_s
        self.http = httpx.AsyncClient(
            base_url=self.base,
            timeout=httpx.Timeout(
                config.api_timeout_s, connect=min(CONNECT_TIMEOUT_S, config.api_timeout_s)
            ),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
            follow_redirects=False,
        )
        self.cache: dict[tuple[str, str], tuple[float, Any]] = {}

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    @staticmethod
    def _headers(token: str | None, client_ip: str | None = None) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if client_ip:
            headers["x-forwarded-for"] = client_ip
        return headers

    async def request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Params = None,
        json: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        client_ip: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """The API's answer (status < 400); an :class:`ApiError` otherwise."""
        all_headers = {**self._headers(token, client_ip), **(headers or {})}
        try:
            response = await self.http.request(
                method,
                path,
                params=_query(params),
                json=json,
                content=content,
                headers=all_headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(f"the API did not answer within {self.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"the API at {self.base} cannot be reached ({exc})") from exc
        if response.status_code >= 400:
            raise translate(response)
        return response

    async def get(self, path: str, token: str | None, params: Params = None) -> Any:
        """The JSON of ``GET path``."""
        return (await self.request("GET", path, token, params=params)).json()

    async def get_cached(self, path: str, token: str | None, ttl_s: float = CACHE_TTL_S) -> Any:
        """``GET path`` as :meth:`get`, the answer kept ``ttl_s`` per token (lists that change
        slowly and many pages show, like the sensors)."""
        key = (token or "", path)
        now = time.monotonic()
        hit = self.cache.get(key)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[1]
        value = await self.get(path, token)
        if len(self.cache) >= CACHE_MAX:
            for old in sorted(self.cache, key=lambda k: self.cache[k][0])[: CACHE_MAX // 4]:
                del self.cache[old]
        self.cache[key] = (now, value)
        return value

    async def send(self, method: str, path: str, token: str | None, body: Any = None) -> Any:
        """The JSON of a ``POST``/``PUT``/``PATCH``/``DELETE`` with a JSON body (None: no JSON
        answer)."""
        response = await self.request(method, path, token, json=body)
        if not response.content:
            return None
        return response.json()

    async def login(self, username: str, password: str, client_ip: str | None) -> dict[str, Any]:
        response = await self.request(
            "POST",
            "/auth/login",
            None,
            json={"username": username, "password": password},
            client_ip=client_ip,
        )
        data: dict[str, Any] = response.json()
        return data

    async def open_stream(
        self, path: str, token: str | None, params: Params = None
    ) -> httpx.Response:
        """``GET path`` as a stream: the open response (status < 400) whose body the caller
        reads (:func:`relay`) and closes (``aclose``)."""
        request = self.http.build_request(
            "GET", path, params=_query(params), headers=self._headers(token) | {"accept": "*/*"}
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(f"the API did not answer within {self.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"the API at {self.base} cannot be reached ({exc})") from exc
        if response.status_code >= 400:
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            raise translate(response, body)
        return response


async def together(*coros: Awaitable[Any]) -> list[Any]:
    """The results of API requests made concurrently, in order; the first error is raised (the
    other requests are cancelled)."""
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(c)) for c in coros]
    except BaseExceptionGroup as eg:
        raise eg.exceptions[0] from None
    return [t.result() for t in tasks]


async def _awaited(aw: Awaitable[Any]) -> Any:
    return await aw


async def relay(response: httpx.Response) -> AsyncIterator[bytes]:
    """A streamed API answer's body, chunk by chunk; a broken stream ends it (logged)."""
    try:
        async for chunk in response.aiter_bytes(CHUNK):
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("download from the API broken off: %s", exc)
