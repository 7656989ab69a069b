"""Errors of the GUI: what the API answered, translated at the client (gui/client.py) into
one class per way a page must react."""

from db.errors import CallsiftError


class ApiError(CallsiftError):
    """The API refused or failed a request; ``str(exc)`` is the API's own one-line message."""

    status = 500

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotLoggedIn(ApiError):
    """No session, an expired one, or a token the API no longer accepts (401): log in again."""

    status = 401


class Forbidden(ApiError):
    """The user's role may not do this (403)."""

    status = 403


class NotFound(ApiError):
    """No such call, user, job... or one outside the user's sensor scope (404)."""

    status = 404


class BadInput(ApiError):
    """The API rejected a parameter or a body (400, 409, 413, 415, 422): shown on the page."""

    status = 422


class Throttled(ApiError):
    """Too many failed logins (429)."""

    status = 429


class ApiUnavailable(ApiError):
    """The API cannot be reached, timed out, or answered 5xx (its database is down)."""

    status = 503


class CsrfError(CallsiftError):
    """A form came without the session's CSRF token (or with another one)."""


class UploadError(CallsiftError):
    """An upload the import page cannot take (not a form, too large, no file)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
