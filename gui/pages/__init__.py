"""The GUI's pages, one router per area."""

from fastapi import APIRouter

from gui.pages import admin, auth, call, calls, dashboard, data, imports

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    calls.router,
    call.router,
    dashboard.router,
    data.router,
    imports.router,
    admin.router,
)
