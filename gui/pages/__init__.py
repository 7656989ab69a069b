"""The GUI's pages, one router per area."""

from fastapi import APIRouter

from gui.pages import auth, call, calls

ROUTERS: tuple[APIRouter, ...] = (auth.router, calls.router, call.router)
