"""Harvest's page shape, with `links.next` as an opaque `cursor=` URL.

The first page may be asked for by number (`page`); every `links.next` is a keyset
cursor on the listing's sort order, so paging stays exact while records change. As in
Harvest, `page`, `next_page` and `previous_page` are null on cursor pages except the last.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

from sandboxes.time.params import InvalidValueError, positive_int
from sources.time.harvest import MAX_PER_PAGE

T = TypeVar("T")
SortKey = tuple[int, ...]


@dataclass(frozen=True)
class PageRequest:
    per_page: int
    page: int
    after: SortKey | None  # from a cursor: start after this sort key


def page_request(params: Mapping[str, str]) -> PageRequest:
    per_page = positive_int(params.get("per_page", MAX_PER_PAGE), "per_page", maximum=MAX_PER_PAGE)
    page = positive_int(params.get("page", 1), "page")
    cursor = params.get("cursor")
    return PageRequest(per_page, page, None if cursor is None else decode_cursor(cursor))


def encode_cursor(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidValueError("cursor is not valid") from None
    if not isinstance(key, list) or not all(isinstance(part, int) for part in key):
        raise InvalidValueError("cursor is not valid")
    return tuple(key)


def page_body(
    request: Request,
    resource: str,
    items: Sequence[T],
    sort_key: Callable[[T], SortKey],
    render: Callable[[T], Any],  # to what orjson encodes
) -> dict[str, Any]:
    """One page of `items` (already sorted by `sort_key`) in Harvest's response shape."""
    wanted = page_request(request.query_params)
    per_page = wanted.per_page
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    if wanted.after is not None:
        start = bisect_right(items, wanted.after, key=sort_key)
    else:
        start = (wanted.page - 1) * per_page
    chunk = items[start : start + per_page]
    has_next = bool(chunk) and start + per_page < total

    by_cursor = wanted.after is not None
    if by_cursor:
        page = total_pages if not has_next else None
        previous = total_pages - 1 if not has_next and total_pages > 1 else None
        next_page = None
    else:
        page = wanted.page
        previous = page - 1 if page > 1 else None
        next_page = page + 1 if has_next else None

    link = _Links(request)
    return {
        resource: [render(item) for item in chunk],
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total,
        "next_page": next_page,
        "previous_page": previous,
        "page": page,
        "links": {
            "first": link(page=1),
            "next": link(cursor=encode_cursor(sort_key(chunk[-1]))) if has_next else None,
            "previous": link(page=previous) if previous and not by_cursor else None,
            "last": link(page=total_pages),
        },
    }


class _Links:
    """URLs to other pages of the same listing: same filters and per_page."""

    def __init__(self, request: Request) -> None:
        self._base = str(request.url.replace(query=""))
        self._params = [
            (name, value)
            for name, value in request.query_params.multi_items()
            if name not in ("page", "cursor")
        ]
        if "per_page" not in request.query_params:
            self._params.append(("per_page", str(MAX_PER_PAGE)))

    def __call__(self, **extra: object) -> str:
        return f"{self._base}?{urlencode([*self._params, *extra.items()])}"
