"""Signed access tokens (JWT, HS256, key from ``CALLSIFT_SECRET_KEY``), machine API tokens and
share-link secrets (random, shown once, stored as SHA-256)."""

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "callsift"
API_TOKEN_PREFIX = "cs_"
"""Machine tokens start with this, so that the API tells them from a JWT at a glance."""
SHARE_TOKEN_BYTES = 32
API_TOKEN_BYTES = 32
MIN_SECRET_LENGTH = 32


class TokenError(Exception):
    """The token is invalid or expired (the message is safe to show)."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_epoch: int
    jti: bytes
    expires_at: float


def issue_access_token(
    secret: str, user_id: int, session_epoch: int, lifetime_s: int, now: float | None = None
) -> tuple[str, AccessClaims]:
    t = int(time.time() if now is None else now)
    jti = secrets.token_bytes(16)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "sv": session_epoch,
        "jti": jti.hex(),
        "iat": t,
        "exp": t + lifetime_s,
        "typ": "access",
    }
    token = jwt.encode(claims, secret, algorithm=ALGORITHM)
    return token, AccessClaims(user_id, session_epoch, jti, float(t + lifetime_s))


def read_access_token(secret: str, token: str) -> AccessClaims:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the access token has expired: log in again") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid access token") from exc
    try:
        if claims.get("typ") != "access":
            raise ValueError("typ")
        return AccessClaims(
            int(claims["sub"]),
            int(claims["sv"]),
            bytes.fromhex(claims["jti"]),
            float(claims["exp"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("invalid access token") from exc


def digest(secret_text: str) -> bytes:
    """SHA-256 of a random token: what the database keeps (the token itself is shown once)."""
    return hashlib.sha256(secret_text.encode("utf-8", "surrogatepass")).digest()


def new_api_token() -> tuple[str, str]:
    """(token, display prefix)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(API_TOKEN_BYTES)
    return token, token[:10]


def new_share_token() -> str:
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


def secret_problem(secret: str | None) -> str | None:
    """Why a signing key cannot be used, or None."""
    if not secret:
        return "CALLSIFT_SECRET_KEY is not set (the key that signs API access tokens)"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"CALLSIFT_SECRET_KEY is too short: at least {MIN_SECRET_LENGTH} characters"
    return None
