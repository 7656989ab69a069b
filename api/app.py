"""The FastAPI application: ``create_app(config)``; its lifespan owns the database pool and
the capture-import runner."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.config import ApiConfig
from api.deps import require
from api.errors import error_responses, install_handlers
from api.imports import ImportRunner
from api.metrics import ApiMetrics, install_middleware
from api.routes import admin, aliases, auth, callfiles, calls, data, imports, shares, stats
from api.schemas.misc import Health
from api.statsrefresh import StatsRefresher
from db.errors import DbError
from db.pool import DbPool

log = logging.getLogger(__name__)
PREFIX = "/api/v1"


def _version() -> str:
    try:
        return dist_version("callsift")
    except PackageNotFoundError:
        return "0"


def create_app(config: ApiConfig) -> FastAPI:
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            DbPool(config.db_url, maxsize=config.pool_size) as pool,
            ImportRunner(config, metrics) as runner,
            StatsRefresher(pool, config.stats_refresh_s) as refresher,
        ):
            app.state.pool = pool
            app.state.imports = runner
            app.state.stats_refresher = refresher
            yield

    app = FastAPI(
        title="callsift API",
        version=_version(),
        description="Calls, SIP flows, RTP quality, audio and pcaps recorded by callsift "
        "sensors. Every endpoint but `/health`, `/auth/login`, the share links and (when "
        "configured) `/metrics` needs `Authorization: Bearer TOKEN` (docs/API.md).",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.metrics = metrics
    install_handlers(app)
    install_middleware(app, metrics)

    v1 = APIRouter(prefix=PREFIX)
    v1.include_router(auth.router)
    v1.include_router(admin.router)
    v1.include_router(aliases.router)
    v1.include_router(imports.router)
    v1.include_router(calls.router)
    v1.include_router(callfiles.router)
    v1.include_router(shares.router)
    v1.include_router(shares.public)
    v1.include_router(stats.router)
    v1.include_router(data.router)

    @v1.get(
        "/health",
        response_model=Health,
        tags=["service"],
        responses={503: {"model": Health, "description": "database unavailable"}},
    )
    async def health(request: Request) -> JSONResponse:
        """Liveness and database reachability (no authentication)."""
        ok = True
        try:
            async with request.app.state.pool.connection() as conn, conn.cursor() as cur:
                await cur.execute("SELECT 1")
        except DbError:
            ok = False
        body = Health(
            status="ok" if ok else "degraded",
            database="ok" if ok else "unavailable",
            version=_version(),
        )
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    guard = [] if config.metrics_public else [Depends(require("viewer"))]

    @v1.get(
        "/metrics",
        tags=["service"],
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text"},
            **error_responses(401),
        },
        dependencies=guard,
    )
    async def prometheus() -> Response:
        """Prometheus metrics of this API process."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(v1)
    return app
