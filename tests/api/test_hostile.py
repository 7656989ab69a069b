"""SQL-injection and wildcard-abuse strings in every text filter of every list and statistics
endpoint (taken from the OpenAPI document, so a filter added later is covered too): never a
server error, and a search that is answered finds nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_calls import EVIL

WILDCARDS = ["*", "**", "*" * 64, "*%*_*", "a*" * 60]


def _text_filters(client: TestClient) -> list[tuple[str, str]]:
    """(path, parameter) of every GET without path parameters that takes a text query
    parameter, but paging cursors and output choices."""
    doc = client.get("/api/v1/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None or "{" in path:
            continue
        for p in op.get("parameters", []):
            schema = p.get("schema", {})
            kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
            text = p["in"] == "query" and "string" in kinds and "format" not in schema
            if text and p["name"] not in ("cursor", "format", "dir") and "enum" not in schema:
                out.append((path, p["name"]))
    return out


def _found(body: Any) -> int:
    """How many things a successful answer found (list items, or calls in statistics)."""
    if isinstance(body, dict) and "items" in body:
        return len(body["items"])
    if isinstance(body, dict) and "totals" in body:
        return int(body["totals"]["calls"])
    return 0


@pytest.mark.parametrize("evil", EVIL + WILDCARDS)
def test_every_text_filter_refuses_or_finds_nothing(
    client: TestClient, admin: dict[str, str], evil: str
) -> None:
    filters = _text_filters(client)
    assert len({p for p, _ in filters}) >= 5, filters  # calls, export, stats, registrations...
    for path, name in filters:
        params = {name: evil}
        if path.endswith("/stats"):
            params["since"] = "2000-01-01T00:00:00Z"
        r = client.get(path, headers=admin, params=params)
        assert r.status_code in (200, 422), (path, name, evil, r.status_code, r.text[:200])
        if r.status_code == 422:
            assert r.json()["error"] and r.json()["message"], (path, name)
        elif not path.endswith("/export"):
            assert _found(r.json()) == 0, (path, name, evil)
        else:
            assert r.text.count("\n") <= 1, (path, name, evil)  # the CSV header only
