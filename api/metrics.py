"""Prometheus metrics of the API (one registry per app) and the structured access log."""

import json
import logging
import time

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("api.access")


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "callsift_api_requests",
            "API requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "callsift_api_request_seconds",
            "API request time by route template",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.in_flight = Gauge(
            "callsift_api_requests_in_flight", "API requests being served", registry=self.registry
        )
        self.logins = Counter(
            "callsift_api_logins", "Login attempts by result", ["result"], registry=self.registry
        )
        self.imports = Counter(
            "callsift_api_imports",
            "Capture imports by final state",
            ["state"],
            registry=self.registry,
        )


def install_middleware(app: FastAPI, metrics: ApiMetrics) -> None:
    app.add_middleware(ObserveMiddleware, metrics=metrics)


class ObserveMiddleware:
    """Request metrics and the access log, as a plain ASGI middleware: no task or stream per
    request (Starlette's ``BaseHTTPMiddleware`` adds both, and copies every streamed chunk)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        start = time.perf_counter()
        metrics.in_flight.inc()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.requests.labels(template, scope["method"], str(status)).inc()
            metrics.latency.labels(template).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                who = scope.get("state", {}).get("principal")
                client = scope.get("client")
                access_log.info(
                    json.dumps(
                        {
                            "method": scope["method"],
                            "path": scope["path"],
                            "route": template,
                            "status": status,
                            "ms": round(elapsed * 1000, 1),
                            "client": client[0] if client else None,
                            "user": who.name if who is not None else None,
                        }
                    )
                )
