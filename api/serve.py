"""Running the app under uvicorn (the ``callsift api`` command)."""

import asyncio
import logging
import sys

import uvicorn

from api.app import create_app
from api.config import ApiConfig

log = logging.getLogger(__name__)


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


def serve(config: ApiConfig, host: str, port: int, trusted_proxies: str = "127.0.0.1") -> int:
    """Run until SIGINT/SIGTERM; :class:`~db.errors.DbError` (reported by the CLI) when the
    database cannot be used."""
    asyncio.run(preflight(config.db_url))
    app = create_app(config)
    logging.getLogger("api.access").setLevel(logging.INFO)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            access_log=False,
            log_config=None,
            lifespan="on",
            proxy_headers=True,
            forwarded_allow_ips=trusted_proxies,
            timeout_graceful_shutdown=10,
        )
    )
    server.run()  # on uvloop when it is installed (Config(loop="auto")), httptools likewise
    if not server.started:
        print(f"callsift: the API could not start on {host}:{port}", file=sys.stderr)
        return 1
    return 0
