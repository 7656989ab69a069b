"""Writing SVG/XML text safely: every piece of text or attribute value goes through ``esc``, which
also replaces the characters XML 1.0 cannot hold (controls, lone surrogates), so hostile input
(SIP headers, user agents, numbers) can never break the document or inject markup."""

from __future__ import annotations

import html
import math
import re

SVG_NS = "http://www.w3.org/2000/svg"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def clean(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def esc(value: object) -> str:
    """Text or attribute content, escaped (``& < > " '``) and cleaned."""
    return html.escape(clean(str(value)), quote=True)


def num(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never ``nan``/``inf``."""
    if not math.isfinite(x):
        x = 0.0
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def attrs(pairs: dict[str, object | None]) -> str:
    """`` name="value"`` for each pair whose value is not None; floats through ``num``."""
    out: list[str] = []
    for name, value in pairs.items():
        if value is None:
            continue
        if not _NAME.fullmatch(name):
            raise ValueError(f"not an attribute name: {name!r}")
        if isinstance(value, float):
            value = num(value)
        out.append(f' {name}="{esc(value)}"')
    return "".join(out)


def el(tag: str, text: str | None = None, **kw: object | None) -> str:
    """One element; ``class_`` stands for ``class``, other underscores for dashes
    (``data_index`` is ``data-index``); ``text`` is escaped."""
    pairs = {_attr_name(k): v for k, v in kw.items()}
    if text is None:
        return f"<{tag}{attrs(pairs)}/>"
    return f"<{tag}{attrs(pairs)}>{esc(text)}</{tag}>"


def _attr_name(key: str) -> str:
    return "class" if key == "class_" else key.replace("_", "-")


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    if width <= 1:
        return "…" if text else ""
    return text if len(text) <= width else text[: width - 1] + "…"
