"""``name-addr`` / ``addr-spec`` header values (RFC 3261 section 20.10, 25.1; RFC 3966 tel URIs).

Used for From, To, Contact, P-Asserted-Identity, Refer-To... Tolerated: unquoted display names
(UTF-8), unbracketed IPv6 hosts (then without port), any URI scheme (``user@host`` taken when
present, else empty). Error messages
(:class:`SipParseError`):

* ``empty name-addr``
* ``unterminated quoted display name: '...'``
* ``missing '<' after display name: '...'``
* ``missing '>' in name-addr: '...'``
* ``bad URI: '...'`` (no scheme, a sip/sips URI without host, an unclosed ``[``)
* ``bad port in URI: '...'`` (not 0..65535)
"""

from dataclasses import dataclass, field
from urllib.parse import unquote

from sniffer.sip.headers import SipParseError, ascii_int, parse_params, show, split_header_list

__all__ = ["NameAddr", "SipParseError", "split_header_list"]

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_SPECIAL_DISPLAY = frozenset('"\\')


def _host_port(text: str, uri: str) -> tuple[str, int | None]:
    """``host[:port]`` or ``[v6][:port]`` -> (lower-case host without brackets, port)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"bad URI: {show(uri)}")
        host = text[1:end]
        rest = text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else None
    elif text.count(":") > 1:
        return text.lower(), None  # unbracketed IPv6 literal (seen in the wild): no port
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    port: int | None = None
    if port_text is not None:
        port = ascii_int(port_text)
        if port is None or port > 65535:
            raise SipParseError(f"bad port in URI: {show(uri)}")
    return host.lower(), port


def _split_uri(uri: str) -> tuple[str, str, str, int | None]:
    """URI -> (scheme, user, host, port)."""
    colon = uri.find(":")
    scheme = uri[:colon]
    if colon <= 0 or not _SCHEME_CHARS.issuperset(scheme):
        raise SipParseError(f"bad URI: {show(uri)}")
    scheme = scheme.lower()
    rest = uri[colon + 1 :]
    if scheme == "tel":
        number = rest.split(";", 1)[0].strip()
        return scheme, unquote(number) if "%" in number else number, "", None
    q = rest.find("?")
    if q >= 0:
        rest = rest[:q]
    at = rest.rfind("@")
    if scheme != "sip" and scheme != "sips":
        # im:, pres:, mailto:... -> user@host when present; urn: and others -> nothing
        if at < 0:
            return scheme, "", "", None
        user = rest[:at]
        return (
            scheme,
            unquote(user) if "%" in user else user,
            rest[at + 1 :].split(";", 1)[0].lower(),
            None,
        )
    user = ""
    if at >= 0:
        user = rest[:at].split(":", 1)[0]
        if "%" in user:
            user = unquote(user)
        rest = rest[at + 1 :]
    hostport = rest.split(";", 1)[0]
    if not hostport:
        raise SipParseError(f"bad URI: {show(uri)}")
    host, port = _host_port(hostport, uri)
    return scheme, user, host, port


def _unquote_display(text: str, start: int) -> tuple[str, int]:
    """Quoted string starting at ``text[start] == '"'`` -> (content, index after closing quote)."""
    if "\\" not in text:
        end = text.find('"', start + 1)
        if end < 0:
            raise SipParseError(f"unterminated quoted display name: {show(text)}")
        return text[start + 1 : end], end + 1
    i = start + 1
    n = len(text)
    parts: list[str] = []
    seg = i
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            parts.append(text[seg:i])
            seg = i + 1
            i += 2
            continue
        if ch == '"':
            parts.append(text[seg:i])
            return "".join(parts), i + 1
        i += 1
    raise SipParseError(f"unterminated quoted display name: {show(text)}")


@dataclass(slots=True)
class NameAddr:
    """A parsed name-addr or addr-spec with its header parameters."""

    display: str
    """Unquoted display name, ``""`` if none."""
    uri: str
    """The full URI without ``<>``."""
    scheme: str
    """``sip``, ``sips``, ``tel`` or another scheme, lower-case."""
    user: str
    """User part (%-escapes decoded); for tel URIs the number; ``""`` if none."""
    host: str
    """Host without port, IPv6 without brackets, lower-case; ``""`` for tel URIs."""
    port: int | None
    tag: str | None
    """The ``;tag=`` header parameter."""
    params: dict[str, str] = field(default_factory=dict)
    """Header parameters after the URI (lower-case keys, unquoted values), except ``tag``."""

    @classmethod
    def parse(cls, text: str) -> "NameAddr":
        """Parse ``"Name" <uri>;params``, ``Name <uri>;params`` or ``uri;params``."""
        text = text.strip()
        if not text:
            raise SipParseError("empty name-addr")
        display = ""
        if text[0] == '"':
            display, end = _unquote_display(text, 0)
            rest = text[end:].lstrip()
            if not rest.startswith("<"):
                raise SipParseError(f"missing '<' after display name: {show(text)}")
        else:
            lt = text.find("<")
            if lt >= 0:
                display = text[:lt].strip()
                rest = text[lt:]
            else:
                rest = ""
        if rest:
            gt = rest.find(">")
            if gt < 0:
                raise SipParseError(f"missing '>' in name-addr: {show(text)}")
            uri = rest[1:gt].strip()
            param_text = rest[gt + 1 :]
        else:
            # addr-spec: every ;param after the URI is a header parameter (RFC 3261 20.10)
            semi = text.find(";")
            if semi < 0:
                uri, param_text = text, ""
            else:
                uri, param_text = text[:semi].rstrip(), text[semi:]
        scheme, user, host, port = _split_uri(uri)
        params: dict[str, str] = {}
        tag: str | None = None
        semi = param_text.find(";")
        if semi >= 0:
            params = parse_params(param_text[semi + 1 :])
            tag = params.pop("tag", None)
        return cls(display, uri, scheme, user, host, port, tag, params)

    def to_text(self) -> str:
        """Serialise as a name-addr (``"display" <uri>;tag=..;k=v``)."""
        out = []
        if self.display:
            esc = self.display
            if not _SPECIAL_DISPLAY.isdisjoint(esc):
                esc = esc.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'"{esc}" ')
        out.append(f"<{self.uri}>")
        if self.tag is not None:
            out.append(f";tag={self.tag}")
        for k, v in self.params.items():
            out.append(f";{k}={v}" if v else f";{k}")
        return "".join(out)
