"""Running the GUI under uvicorn (the ``callsift gui`` command)."""

import logging
import sys

import uvicorn

from gui.app import create_app
from gui.config import GuiConfig

log = logging.getLogger(__name__)
SHUTDOWN_S = 10


def serve(config: GuiConfig, host: str, port: int) -> int:
    """Run until SIGINT/SIGTERM. The API need not be up yet: pages say so until it is."""
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            access_log=False,
            log_config=None,
            lifespan="on",
            proxy_headers=True,
            timeout_graceful_shutdown=SHUTDOWN_S,
        )
    )
    log.info("GUI on http://%s:%d, API at %s", host, port, config.api_url)
    server.run()  # on uvloop when it is installed (Config(loop="auto")), httptools likewise
    if not server.started:
        print(f"callsift: the GUI could not start on {host}:{port}", file=sys.stderr)
        return 1
    return 0
