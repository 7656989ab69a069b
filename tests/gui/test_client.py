"""The API client: timeouts and errors translated, the API's own message kept."""

import httpx
import pytest

from gui.client import ApiClient
from gui.errors import (
    ApiUnavailable,
    BadInput,
    Forbidden,
    NotFound,
    NotLoggedIn,
    Throttled,
)
from tests.gui.conftest import gui_config


def answering(status: int, body: object = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, NotLoggedIn),
        (403, Forbidden),
        (404, NotFound),
        (410, NotFound),
        (422, BadInput),
        (413, BadInput),
        (429, Throttled),
        (500, ApiUnavailable),
        (503, ApiUnavailable),
    ],
)
async def test_errors_are_translated(status: int, error: type[Exception]) -> None:
    body = {"error": "x", "message": f"the message of {status}", "field": "mos_below"}
    async with ApiClient(gui_config(), answering(status, body)) as api:
        with pytest.raises(error, match=f"the message of {status}") as caught:
            await api.get("/calls", "tok")
    assert caught.value.field == "mos_below"


async def test_an_answer_without_json_still_names_the_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    async with ApiClient(gui_config(), httpx.MockTransport(handler)) as api:
        with pytest.raises(ApiUnavailable, match="the API answered 502"):
            await api.get("/calls", "tok")


async def test_token_and_path_reach_the_api() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    async with ApiClient(
        gui_config(api_url="http://api:8000/"), httpx.MockTransport(handler)
    ) as api:
        assert await api.get("/calls", "tok", [("state", "failed"), ("state", "timeout")]) == {
            "items": []
        }
    (req,) = seen
    assert str(req.url) == "http://api:8000/api/v1/calls?state=failed&state=timeout"
    assert req.headers["authorization"] == "Bearer tok"


async def test_a_timeout_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with ApiClient(gui_config(api_timeout_s=2.5), httpx.MockTransport(handler)) as api:
        with pytest.raises(ApiUnavailable, match=r"did not answer within 2\.5 s"):
            await api.get("/calls", "tok")


async def test_an_unreachable_api_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with ApiClient(gui_config(), httpx.MockTransport(handler)) as api:
        with pytest.raises(ApiUnavailable, match=r"cannot be reached \(connection refused\)"):
            await api.get("/calls", "tok")


async def test_a_refused_download_is_translated_and_closed() -> None:
    async with ApiClient(gui_config(), answering(403, {"message": "needs operator"})) as api:
        with pytest.raises(Forbidden, match="needs operator"):
            await api.open_stream("/calls/1/pcap", "tok")


async def test_cached_answers_are_per_token_and_expire() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return httpx.Response(200, json={"n": len(calls)})

    async with ApiClient(gui_config(), httpx.MockTransport(handler)) as api:
        assert await api.get_cached("/sensors", "a") == {"n": 1}
        assert await api.get_cached("/sensors", "a") == {"n": 1}
        assert await api.get_cached("/sensors", "b") == {"n": 2}
        assert await api.get_cached("/sensors", "a", ttl_s=0) == {"n": 3}
    assert calls == ["Bearer a", "Bearer b", "Bearer a"]


async def test_together_keeps_order_and_raises_the_first_error() -> None:
    import asyncio

    from gui.client import together

    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    async def fails() -> int:
        raise NotFound("no call with id 9")

    assert await together(value(1, 0.02), value(2, 0)) == [1, 2]
    with pytest.raises(NotFound, match="no call with id 9"):
        await together(value(1, 0.5), fails())


async def test_login_forwards_the_users_address() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "t", "expires_in": 60})

    async with ApiClient(gui_config(), httpx.MockTransport(handler)) as api:
        await api.login("ann", "pw", "198.51.100.9")
    assert seen[0].headers["x-forwarded-for"] == "198.51.100.9"
    assert "authorization" not in seen[0].headers
