"""The GUI's session: a signed cookie (itsdangerous) holding the user's API access token, role
and CSRF token; the ASGI middleware that reads it before a page and writes it back after.

The cookie is HttpOnly, SameSite=Lax, Secure when the page came over HTTPS, and signed with
``gui.secret_key``: a forged or altered cookie is no session. A session ends at the first of
``gui.session_lifetime_s`` and the expiry of the API token it holds; the API checks that token
on every request (a disabled user or revoked session is refused at once), and a 401 from the API
ends the GUI session too. Every form carries the session's CSRF token (a fresh one on login), and
every POST is refused without it (:func:`check_csrf`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gui.errors import CsrfError

COOKIE = "callsift_session"
SALT = "callsift-gui-session-v1"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ROLES = ("viewer", "operator", "admin")


def _csrf() -> str:
    return secrets.token_urlsafe(24)


@dataclass(slots=True)
class Session:
    """One browser's session; anonymous (``token`` None) until the user logs in."""

    csrf: str = field(default_factory=_csrf)
    token: str | None = None
    username: str | None = None
    role: str | None = None
    expires_at: float = 0.0
    """Unix time the login ends (the earlier of the GUI session lifetime and the API token)."""
    dirty: bool = field(default=False, compare=False)

    @property
    def logged_in(self) -> bool:
        return self.token is not None and time.time() < self.expires_at

    @property
    def expired(self) -> bool:
        """A login that has run out (the page says so rather than just "log in")."""
        return self.token is not None and time.time() >= self.expires_at

    def can(self, role: str) -> bool:
        """The user's role is ``role`` or above (viewer < operator < admin)."""
        if not self.logged_in or self.role not in ROLES:
            return False
        return ROLES.index(self.role) >= ROLES.index(role)

    def login(self, token: str, username: str, role: str, expires_at: float) -> None:
        """Become a login: new CSRF token (no token fixation across the login)."""
        self.token, self.username, self.role, self.expires_at = token, username, role, expires_at
        self.csrf = _csrf()
        self.dirty = True

    def logout(self) -> None:
        self.token = self.username = self.role = None
        self.expires_at = 0.0
        self.csrf = _csrf()
        self.dirty = True


class SessionCodec:
    """Session <-> signed cookie value."""

    def __init__(self, secret_key: str, lifetime_s: int) -> None:
        self.serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.lifetime_s = lifetime_s

    def dump(self, session: Session) -> str:
        data = asdict(session)
        del data["dirty"]
        return self.serializer.dumps(data)

    def load(self, value: str | None) -> Session | None:
        """The session in ``value``; None when missing, forged, malformed or older than the
        session lifetime."""
        if not value:
            return None
        try:
            data: Any = self.serializer.loads(value, max_age=self.lifetime_s)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        try:
            return Session(
                csrf=data["csrf"],
                token=data.get("token"),
                username=data.get("username"),
                role=data.get("role"),
                expires_at=float(data.get("expires_at") or 0.0),
            )
        except (TypeError, ValueError):
            return None


def check_csrf(session: Session, submitted: str | None) -> None:
    """:class:`CsrfError` unless ``submitted`` is this session's CSRF token."""
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
        raise CsrfError("the form is out of date or did not come from this site: reload the page")


def _cookie_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no session
                return None
            morsel = jar.get(COOKIE)
            if morsel is not None:
                return morsel.value
    return None


class SessionMiddleware:
    """Puts ``scope["session"]`` (a :class:`Session`, new when there is none) before the app
    runs, and sets the cookie on the response when the session is new or changed."""

    def __init__(
        self, app: ASGIApp, codec: SessionCodec, extra_headers: dict[str, str] | None = None
    ) -> None:
        self.app = app
        self.codec = codec
        self.extra = [(k.encode(), v.encode()) for k, v in (extra_headers or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loaded = self.codec.load(_cookie_of(scope))
        session = loaded if loaded is not None else Session(dirty=True)
        scope["session"] = session
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.extra:
                    if name.decode() not in headers:
                        headers.raw.append((name, value))
                if session.dirty:
                    headers.append("set-cookie", self.cookie_header(session, secure))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def cookie_header(self, session: Session, secure: bool) -> str:
        parts = [
            f"{COOKIE}={self.codec.dump(session)}",
            "Path=/",
            f"Max-Age={self.codec.lifetime_s}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)
