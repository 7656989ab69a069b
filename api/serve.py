"""Running the app under uvicorn (the ``callsift api`` command)."""

import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from api.app import create_app
from api.config import ApiConfig
from db.errors import DbError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    db_url: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8080
    spool: Path | None = None
    token_lifetime_s: int = 3600


async def preflight(db_url: str) -> None:
    """Refuse to start on an unreachable database or a schema this API does not know."""
    from db.connect import connect
    from db.migrate import check_schema
    from db.url import parse_db_url

    conn = await connect(parse_db_url(db_url))
    try:
        await check_schema(conn)
    finally:
        conn.close()


def serve(opts: ServeOptions) -> int:
    try:
        asyncio.run(preflight(opts.db_url))
    except DbError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return 1
    config = ApiConfig(
        db_url=opts.db_url,
        secret_key=opts.secret_key,
        spool_dir=opts.spool,
        token_lifetime_s=opts.token_lifetime_s,
    )
    app = create_app(config)
    logging.getLogger("api.access").setLevel(logging.INFO)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=opts.host,
            port=opts.port,
            access_log=False,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    try:
        asyncio.run(server.serve())
    except DbError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return 1
    if not server.started:
        print(f"callsift: the API could not start on {opts.host}:{opts.port}", file=sys.stderr)
        return 1
    return 0
