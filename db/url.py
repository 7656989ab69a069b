"""Database URLs: ``mysql://USER:PASSWORD@HOST:PORT/DATABASE[?OPTIONS]`` (``mariadb://`` is a
synonym). Options (``&``-separated, names as in the MySQL client):

* ``unix_socket=PATH``: connect through the server's Unix socket instead of TCP (HOST is then
  only a label, e.g. ``localhost``);
* ``ssl_mode=disabled|required|verify_ca|verify_identity``: TLS to the server; ``required``
  encrypts without checking the server's certificate, ``verify_ca`` checks it against the CA,
  ``verify_identity`` also checks that it names HOST (the default once ``ssl_ca`` is given);
* ``ssl_ca=PATH``: the CA bundle (PEM) that signed the server's certificate (default: the
  system's CAs);
* ``ssl_cert=PATH`` and ``ssl_key=PATH``: a client certificate, for servers that require one.
"""

import argparse
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

DEFAULT_PORT = 3306
SCHEMES = ("mysql://", "mariadb://")
URL_FORM = "mysql://USER:PASSWORD@HOST:PORT/DATABASE"

DB_NAME = re.compile(r"[A-Za-z0-9_$]{1,64}")
"""Database names we accept: unquoted MySQL identifier characters, at most 64."""


class SslMode(StrEnum):
    """How a connection uses TLS (the MySQL client's ``--ssl-mode`` values)."""

    DISABLED = "disabled"
    REQUIRED = "required"
    VERIFY_CA = "verify_ca"
    VERIFY_IDENTITY = "verify_identity"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS towards the server; paths are PEM files."""

    mode: SslMode = SslMode.VERIFY_IDENTITY
    ca: str | None = None
    cert: str | None = None
    key: str | None = None


OPTIONS = ("unix_socket", "ssl_mode", "ssl_ca", "ssl_cert", "ssl_key")
"""The ``?options`` a database URL may carry."""


@dataclass(frozen=True, slots=True)
class DbConfig:
    """Where and as whom to connect. ``repr`` and ``str`` never show the password."""

    user: str
    password: str
    host: str
    port: int
    database: str
    unix_socket: str | None = None
    tls: TlsConfig | None = None

    def __repr__(self) -> str:
        pw = ", password='***'" if self.password else ""
        extra = f", unix_socket={self.unix_socket!r}" if self.unix_socket else ""
        if self.tls is not None:
            extra += f", ssl_mode={self.tls.mode.value!r}"
        return (
            f"DbConfig(user={self.user!r}{pw}, host={self.host!r}, port={self.port}, "
            f"database={self.database!r}{extra})"
        )

    __str__ = __repr__

    @property
    def where(self) -> str:
        """``HOST:PORT`` (IPv6 hosts in brackets), or the socket path, for messages."""
        if self.unix_socket:
            return self.unix_socket
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_db_url(url: str) -> DbConfig:
    """Parse a database URL; raise ``ValueError`` with a precise message when it is malformed."""
    url = url.strip()
    scheme = next((s for s in SCHEMES if url.lower().startswith(s)), None)
    if scheme is None:
        raise ValueError(f"database URL must start with mysql:// (form: {URL_FORM})")
    rest = url[len(scheme) :]
    if "#" in rest:
        raise ValueError("database URL must not have a #fragment")
    rest, _q, query = rest.partition("?")
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
    socket_path, tls = _options(query)
    return DbConfig(unquote(user), unquote(password), host, port, database, socket_path, tls)


def _options(query: str) -> tuple[str | None, TlsConfig | None]:
    """``unix_socket`` and the TLS settings of a URL's query string."""
    opts: dict[str, str] = {}
    for item in query.split("&") if query else ():
        name, eq, value = item.partition("=")
        if name not in OPTIONS:
            raise ValueError(
                f"database URL has an unknown option {name!r} (known: {', '.join(OPTIONS)})"
            )
        if not eq or not value:
            raise ValueError(f"database URL option {name} has no value")
        if name in opts:
            raise ValueError(f"database URL option {name} is given twice")
        opts[name] = unquote(value)
    mode_text = opts.get("ssl_mode")
    if mode_text is None:
        mode = SslMode.VERIFY_IDENTITY if "ssl_ca" in opts else SslMode.DISABLED
    else:
        try:
            mode = SslMode(mode_text.lower())
        except ValueError:
            known = ", ".join(m.value for m in SslMode)
            raise ValueError(
                f"database URL option ssl_mode must be one of {known}, got {mode_text!r}"
            ) from None
    files = {k: opts.get(f"ssl_{k}") for k in ("ca", "cert", "key")}
    if (files["cert"] is None) != (files["key"] is None):
        raise ValueError("database URL options ssl_cert and ssl_key go together")
    if mode is SslMode.DISABLED:
        given = [f"ssl_{k}" for k, f in files.items() if f is not None]
        if given:
            raise ValueError(f"database URL has {given[0]} but ssl_mode=disabled")
        return opts.get("unix_socket"), None
    return opts.get("unix_socket"), TlsConfig(mode, files["ca"], files["cert"], files["key"])


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
