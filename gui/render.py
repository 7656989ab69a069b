"""Templates (Jinja2, autoescaped) and the filters the pages use to show figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gui.session import CSRF_FIELD, Session

HERE = Path(__file__).resolve().parent
MOS_BAD, MOS_POOR = 3.1, 3.6
"""Below 3.1 most users are dissatisfied (ITU-T G.107 R < 60); below 3.6 some are (R < 70)."""
LOSS_BAD, LOSS_POOR = 5.0, 1.0
"""Loss % from which audio is clearly broken / audibly impaired with G.711 and no PLC."""


def ts(value: str | None, with_date: bool = True) -> str:
    """``2026-11-26T06:57:00.123456Z`` -> ``2026-11-26 06:57:00`` (UTC, as the API gives it)."""
    if not value:
        return ""
    if len(value) >= 20 and value[10] == "T" and value.endswith("Z"):  # the API's form: cut
        return f"{value[:10]} {value[11:19]}" if with_date else value[11:19]
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def duration(seconds: float | None) -> str:
    """``75.4`` -> ``1:15``; hours as ``1:02:03``."""
    if seconds is None:
        return ""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def mos_class(mos: float | None) -> str:
    if mos is None:
        return ""
    return "bad" if mos < MOS_BAD else "poor" if mos < MOS_POOR else "good"


def loss_class(loss: float | None) -> str:
    if loss is None:
        return ""
    return "bad" if loss >= LOSS_BAD else "poor" if loss >= LOSS_POOR else ""


def code_class(code: int | None, state: str = "") -> str:
    """Row cue of a call: failed (4xx-6xx, timeout), cancelled, or none."""
    if state in ("cancelled",) or code == 487:
        return "cancelled"
    if (code is not None and code >= 400) or state in ("failed", "timeout"):
        return "failed"
    return ""


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters.update(
        ts=ts, duration=duration, num=num, mos_class=mos_class, loss_class=loss_class
    )
    env.globals.update(code_class=code_class, CSRF_FIELD=CSRF_FIELD)
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


def page(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """The page ``name`` with the session (user, role, CSRF token) in its context."""
    session: Session = request.scope["session"]
    templates: Jinja2Templates = request.app.state.templates
    ctx = {"session": session, "csrf": session.csrf, "path": request.url.path}
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["cache-control"] = "no-store"
    return response
