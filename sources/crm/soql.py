"""Writing SOQL literals safely: the part of SOQL a client needs."""

from __future__ import annotations

_QUOTED = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str) -> str:
    return "".join(_QUOTED.get(char, char) for char in text)


def quote(text: str) -> str:
    """A SOQL string literal that means exactly `text`."""
    return f"'{_escape(text)}'"


def contains_pattern(text: str) -> str:
    """A LIKE literal matching any value that contains `text` (wildcards in it are literal)."""
    return "'%" + _escape(text).replace("%", "\\%").replace("_", "\\_") + "%'"
