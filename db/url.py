"""Database URLs: ``mysql://USER:PASSWORD@HOST:PORT/DATABASE`` (``mariadb://`` is a synonym)."""

import argparse
import re
from dataclasses import dataclass
from urllib.parse import unquote

DEFAULT_PORT = 3306
SCHEMES = ("mysql://", "mariadb://")
URL_FORM = "mysql://USER:PASSWORD@HOST:PORT/DATABASE"

DB_NAME = re.compile(r"[A-Za-z0-9_$]{1,64}")
"""Database names we accept: unquoted MySQL identifier characters, at most 64."""


@dataclass(frozen=True, slots=True)
class DbConfig:
    """Where and as whom to connect. ``repr`` and ``str`` never show the password."""

    user: str
    password: str
    host: str
    port: int
    database: str

    def __repr__(self) -> str:
        pw = ", password='***'" if self.password else ""
        return (
            f"DbConfig(user={self.user!r}{pw}, host={self.host!r}, port={self.port}, "
            f"database={self.database!r})"
        )

    __str__ = __repr__

    @property
    def where(self) -> str:
        """``HOST:PORT`` for messages (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_db_url(url: str) -> DbConfig:
    """Parse a database URL; raise ``ValueError`` with a precise message when it is malformed."""
    url = url.strip()
    scheme = next((s for s in SCHEMES if url.lower().startswith(s)), None)
    if scheme is None:
        raise ValueError(f"database URL must start with mysql:// (form: {URL_FORM})")
    rest = url[len(scheme) :]
    if "?" in rest or "#" in rest:
        raise ValueError("database URL must not have ?options or #fragment")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        raise ValueError("database URL has no user (form: mysql://USER@HOST/DATABASE)")
    user, _colon, password = userinfo.partition(":")
    if not user:
        raise ValueError("database URL has no user (form: mysql://USER@HOST/DATABASE)")
    host, port = _split_host_port(hostport)
    database = unquote(path)
    if not slash or not database:
        raise ValueError("database URL has no database name")
    if not DB_NAME.fullmatch(database):
        raise ValueError(
            f"database URL has an invalid database name {database!r} "
            "(letters, digits, _ and $, at most 64)"
        )
    return DbConfig(unquote(user), unquote(password), host, port, database)


def _split_host_port(hostport: str) -> tuple[str, int]:
    if hostport.startswith("["):
        host, bracket, tail = hostport[1:].partition("]")
        if not bracket:
            raise ValueError("database URL has an unclosed [ in the host")
        if tail and not tail.startswith(":"):
            raise ValueError(f"database URL has garbage after the host: {tail!r}")
        port_text = tail[1:] if tail else ""
        has_port = bool(tail)
    else:
        host, colon, port_text = hostport.partition(":")
        has_port = bool(colon)
    host = unquote(host)
    if not host:
        raise ValueError("database URL has no host")
    if not has_port:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not port_text.isascii():
        raise ValueError(f"database URL has an invalid port {port_text!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"database URL port must be 1..65535, got {port}")
    return host, port


def db_url_arg(text: str) -> str:
    """argparse type of ``--db``: a URL, never anything else (``--db capture.pcap`` is refused
    at once, so a file name is not taken for one). The URL itself is checked by the settings."""
    if "://" not in text:
        raise argparse.ArgumentTypeError(f"expected a database URL {URL_FORM}, got {text!r}")
    return text
