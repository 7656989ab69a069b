"""FastAPI dependencies of the pages: the session, the login a page needs, the API client."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from gui.client import ApiClient
from gui.errors import Forbidden, NotLoggedIn
from gui.session import Session, check_csrf


def session_of(request: Request) -> Session:
    session: Session = request.scope["session"]
    return session


def login(request: Request) -> Session:
    """The logged-in session; :class:`NotLoggedIn` (-> the login page) otherwise."""
    session = session_of(request)
    if not session.logged_in:
        raise NotLoggedIn("your session has expired" if session.expired else "please log in")
    return session


def _role(role: str) -> Callable[[Request], Session]:
    """A dependency: the logged-in session of a user with ``role`` or above (else 403)."""

    def need(request: Request) -> Session:
        session = login(request)
        if not session.can(role):
            raise Forbidden(f"this page needs the {role} role (you are {session.role})")
        return session

    return need


def client(request: Request) -> ApiClient:
    api: ApiClient = request.app.state.api
    return api


async def csrf_form(request: Request) -> dict[str, str]:
    """The form fields of a POST whose CSRF token matches the session's (else CsrfError)."""
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    check_csrf(session_of(request), fields.get("csrf_token"))
    return fields


AnySession = Annotated[Session, Depends(session_of)]
Login = Annotated[Session, Depends(login)]
Operator = Annotated[Session, Depends(_role("operator"))]
Admin = Annotated[Session, Depends(_role("admin"))]
Api = Annotated[ApiClient, Depends(client)]
Form = Annotated[dict[str, str], Depends(csrf_form)]
