"""Prometheus metrics of the API (one registry per app) and the structured access log."""

import json
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        metrics.in_flight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            route = request.scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.requests.labels(template, request.method, str(status)).inc()
            metrics.latency.labels(template).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                who = getattr(request.state, "principal", None)
                access_log.info(
                    json.dumps(
                        {
                            "method": request.method,
                            "path": request.url.path,
                            "route": template,
                            "status": status,
                            "ms": round(elapsed * 1000, 1),
                            "client": request.client.host if request.client else None,
                            "user": who.name if who is not None else None,
                        }
                    )
                )
