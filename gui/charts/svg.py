"""Writing SVG/XML text safely: every piece of text or attribute value goes through ``esc``, which
also replaces the characters XML 1.0 cannot hold (controls, lone surrogates), so hostile input
(SIP headers, user agents, numbers) can never break the document or inject markup."""

from __future__ import annotations

import functools
import math
import re

SVG_NS = "http://www.w3.org/2000/svg"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_:-]*")
_NOT_XML = [
    *range(0x00, 0x09),
    0x0B,
    0x0C,
    *range(0x0E, 0x20),
    *range(0xD800, 0xE000),
    0xFFFE,
    0xFFFF,
]
_TABLE: dict[int, str] = {c: "\ufffd" for c in _NOT_XML}
_CLEAN = dict(_TABLE)
_TABLE.update(
    {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#x27;"}
)


class Html(str):
    """Markup that is already safe: Jinja2 (autoescape on) prints it as it is (``__html__``)."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def clean(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return text.translate(_CLEAN)


def esc(value: object) -> str:
    """Text or attribute content, escaped (``& < > " '``) and cleaned, in one pass."""
    return str(value).translate(_TABLE)


def num(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never ``nan``/``inf``."""
    x = float(x)
    if not math.isfinite(x):
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def attrs(pairs: dict[str, object | None]) -> str:
    """`` name="value"`` for each pair whose value is not None; floats through ``num``."""
    out: list[str] = []
    for name, value in pairs.items():
        if value is None:
            continue
        out.append(f' {_checked(name)}="{num(value) if isinstance(value, float) else esc(value)}"')
    return "".join(out)


def el(tag: str, text: str | None = None, **kw: object | None) -> str:
    """One element; ``class_`` stands for ``class``, other underscores for dashes
    (``data_index`` is ``data-index``); ``text`` is escaped."""
    parts = [f"<{tag}"]
    for key, value in kw.items():
        if value is not None:
            shown = num(value) if isinstance(value, float) else esc(value)
            parts.append(f' {_attr_name(key)}="{shown}"')
    if text is None:
        parts.append("/>")
    else:
        parts.append(f">{esc(text)}</{tag}>")
    return "".join(parts)


@functools.lru_cache(maxsize=512)
def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not an attribute name: {name!r}")
    return name


@functools.lru_cache(maxsize=512)
def _attr_name(key: str) -> str:
    return _checked("class" if key == "class_" else key.replace("_", "-"))


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    if width <= 1:
        return "…" if text else ""
    return text if len(text) <= width else text[: width - 1] + "…"
