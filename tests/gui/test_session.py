"""The session cookie and CSRF tokens, without a server."""

import time

import pytest

from gui.errors import CsrfError
from gui.session import Session, SessionCodec, check_csrf

KEY = "k" * 40


def test_round_trip_keeps_the_login() -> None:
    codec = SessionCodec(KEY, 3600)
    s = Session()
    s.login("tok", "alice", "operator", time.time() + 60)
    back = codec.load(codec.dump(s))
    assert back is not None
    assert (back.token, back.username, back.role, back.csrf) == ("tok", "alice", "operator", s.csrf)
    assert back.logged_in and back.can("viewer") and back.can("operator") and not back.can("admin")


def test_a_forged_or_altered_cookie_is_no_session() -> None:
    codec = SessionCodec(KEY, 3600)
    value = codec.dump(Session(token="t", role="admin", expires_at=time.time() + 60))
    assert codec.load(value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]) is None
    assert SessionCodec("x" * 40, 3600).load(value) is None
    assert codec.load("garbage") is None
    assert codec.load(None) is None


def test_an_old_cookie_is_no_session() -> None:
    value = SessionCodec(KEY, 3600).dump(Session())
    assert SessionCodec(KEY, -1).load(value) is None


def test_a_login_ends_at_its_expiry() -> None:
    s = Session(token="t", username="a", role="admin", expires_at=time.time() - 1)
    assert not s.logged_in and s.expired and not s.can("viewer")


def test_login_and_logout_change_the_csrf_token() -> None:
    s = Session()
    first = s.csrf
    s.login("t", "a", "viewer", time.time() + 60)
    second = s.csrf
    s.logout()
    assert len({first, second, s.csrf}) == 3
    assert s.token is None and not s.logged_in and s.dirty


def test_csrf_is_checked() -> None:
    s = Session()
    check_csrf(s, s.csrf)
    for bad in (None, "", "nope", s.csrf + "x"):
        with pytest.raises(CsrfError, match="out of date"):
            check_csrf(s, bad)
