"""Harvest paging as a strategy: always follow `links.next`, which may be a `cursor=` URL.

The query string of the next link is the cursor: the connector sends it back as is to
the resource's path, so Harvest's own cursor, filters and per_page travel unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sources.errors import SourceDataError
from sources.records import SourceSystem


def next_query(body: Mapping[str, Any]) -> str | None:
    """The query of `links.next`, or None on the last page."""
    links = body.get("links")
    link = links.get("next") if isinstance(links, Mapping) else None
    if not link:
        return None
    if not isinstance(link, str):
        raise SourceDataError(SourceSystem.TIME, f"links.next is not a URL: {link!r}")
    return urlsplit(link).query or None


def check_cursor(cursor: str) -> str:
    """A cursor is a query string from `links.next`, never a URL or a path."""
    if not cursor or any(char in cursor for char in "/?#"):
        raise ValueError(f"not a Harvest page cursor: {cursor!r}")
    return cursor


class NextLinkPager:
    """Walks one listing; a next link seen before is a loop, not another page."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def advance(self, body: Mapping[str, Any]) -> str | None:
        query = next_query(body)
        if query is not None:
            if query in self._seen:
                raise SourceDataError(SourceSystem.TIME, "links.next repeats: paging loop")
            self._seen.add(query)
        return query
