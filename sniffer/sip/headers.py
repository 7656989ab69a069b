"""SIP header names and small header-value helpers (RFC 3261 section 7.3, 20).

Shared by the message, name-addr and multipart parsers. Also defines :class:`SipParseError`,
the one error every SIP parser of this package raises.
"""

COMPACT_FORMS: dict[str, str] = {
    "a": "accept-contact",  # RFC 3841
    "b": "referred-by",  # RFC 3892
    "c": "content-type",
    "d": "request-disposition",  # RFC 3841
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",  # RFC 3841
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "o": "event",  # RFC 6665
    "r": "refer-to",  # RFC 3515
    "s": "subject",
    "t": "to",
    "u": "allow-events",  # RFC 6665
    "v": "via",
    "x": "session-expires",  # RFC 4028
    "y": "identity",  # RFC 8224
}
"""RFC 3261 section 7.3.3 compact header names (and those of later RFCs) -> long names."""

_SHOW_MAX = 80


class SipParseError(ValueError):
    """A SIP message (or one of its header values) cannot be used."""


def show(text: str) -> str:
    """``repr`` of ``text`` cut to a readable length, for error messages."""
    if len(text) > _SHOW_MAX:
        return repr(text[:_SHOW_MAX] + "...")
    return repr(text)


def canonical_name(name: str) -> str:
    """Header name in any case, long or compact -> lower-case long name."""
    n = name.strip().lower()
    if len(n) == 1:
        return COMPACT_FORMS.get(n, n)
    return n


def ascii_int(text: str) -> int | None:
    """``int`` of a string of ASCII digits (1..10 of them), else None (no sign, no ``_``)."""
    if 0 < len(text) <= 10 and text.isascii() and text.isdigit():
        return int(text)
    return None


def _split_outside(text: str, sep: str, angles: bool) -> list[str]:
    """Split on ``sep`` outside double quotes (backslash escapes honoured inside them) and,
    when ``angles``, outside ``<...>``."""
    out: list[str] = []
    start = 0
    quoted = False
    angle = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif angle:
            if ch == ">":
                angle = False
        elif ch == "<" and angles:
            angle = True
        elif ch == sep:
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return out


def split_params(text: str) -> list[str]:
    """Split on ``;`` outside double quotes (backslash escapes honoured inside quotes)."""
    if '"' not in text:
        return text.split(";")
    return _split_outside(text, ";", angles=False)


def parse_params(text: str) -> dict[str, str]:
    """``;a=1;b="x y";lr`` -> ``{"a": "1", "b": "x y", "lr": ""}`` (keys lower-case; first wins)."""
    params: dict[str, str] = {}
    for item in split_params(text):
        key, _, value = item.partition("=")
        key = key.strip().lower()
        if not key or key in params:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        params[key] = value
    return params


def param_value(value: str, name: str) -> str | None:
    """Value of parameter ``name`` (lower-case) in a ``x;a=1;b=2`` header value, or None."""
    semi = value.find(";")
    if semi < 0:
        return None
    return parse_params(value[semi + 1 :]).get(name)


def media_type(value: str) -> str:
    """``Application/SDP; charset=x`` -> ``application/sdp``."""
    semi = value.find(";")
    if semi >= 0:
        value = value[:semi]
    return value.strip().lower()


def split_header_list(value: str) -> list[str]:
    """Split a comma-separated header value on commas outside ``"..."`` and ``<...>``.

    Elements are stripped; empty elements are dropped.
    """
    if "," not in value:
        v = value.strip()
        return [v] if v else []
    return [item for part in _split_outside(value, ",", angles=True) if (item := part.strip())]


def via_summary(vias: list[str]) -> tuple[str | None, int]:
    """Via header values -> (``branch`` of the top-most entry, number of entries)."""
    if not vias:
        return None, 0
    first = vias[0]
    if "," in first:
        items = split_header_list(first)
        first = items[0] if items else ""
        count = len(items) + sum(len(split_header_list(v)) for v in vias[1:])
    elif len(vias) == 1:
        count = 1
    else:
        count = sum(len(split_header_list(v)) for v in vias)
    semi = first.find(";")
    if semi >= 0:
        for item in first[semi + 1 :].split(";"):
            key, _, value = item.partition("=")
            if key.strip().lower() == "branch":
                return value.strip(), count
    return None, count
