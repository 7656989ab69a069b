"""``callsift gui``: serve the web GUI."""

from __future__ import annotations

import argparse
from typing import Any

from db.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from db.settings import flag_help

    p = sub.add_parser(
        "gui",
        help="serve the web GUI",
        description="Serve the web GUI (docs/GUI.md). Every datum comes from the REST API with "
        "the user's own token. The key signing session cookies comes from "
        "CALLSIFT_GUI_SECRET_KEY, else CALLSIFT_SECRET_KEY (at least 32 characters): there is "
        "no default.",
    )
    p.add_argument("--api", metavar="URL", help=flag_help("gui.api_url", "the API's address"))
    p.add_argument("--host", help=flag_help("gui.host", "address to listen on"))
    p.add_argument("--port", type=int, help=flag_help("gui.port", "port"))
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (default: env CALLSIFT_CONFIG)"
    )
    p.set_defaults(run=run_gui, cmd_parser=p)


def config_of(settings: Any) -> Any:
    """The :class:`~gui.config.GuiConfig` of a settings tree; :class:`ConfigError` without a
    secret key."""
    from gui.config import GuiConfig

    gui = settings.gui
    key = gui.secret_key or settings.api.secret_key
    if key is None:
        raise ConfigError(
            "gui.secret_key is required (set CALLSIFT_GUI_SECRET_KEY, or CALLSIFT_SECRET_KEY, "
            "or [gui] secret_key): at least 32 characters, e.g. `openssl rand -hex 32`"
        )
    return GuiConfig(
        api_url=gui.api_url,
        secret_key=key.get_secret_value(),
        session_lifetime_s=gui.session_lifetime_s,
        api_timeout_s=gui.api_timeout_s,
        import_max_bytes=gui.import_max_mb << 20,
        upload_dir=gui.upload_dir,
    )


def run_gui(args: argparse.Namespace) -> int:
    from db.settings import load_settings
    from gui.serve import serve

    settings = load_settings(
        args.config, {"gui.api_url": args.api, "gui.host": args.host, "gui.port": args.port}
    )
    return serve(config_of(settings), settings.gui.host, settings.gui.port)
