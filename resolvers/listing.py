"""One shape for every top-level list: a filtered vendor listing, paged by the vendor's
own cursor, its records handed to the by-id loader so a `node` of one costs nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from resolvers.connections import Cursor, Window, vendor_window
from resolvers.context import RequestContext
from sources.errors import SourceDataError
from sources.records import Record, SourceSystem

R = TypeVar("R", bound=Record)


def nothing() -> Window[Any]:
    """The window of a filter that matches nothing, found without a listing."""
    return Window([], False, False, 0)


async def list_records(
    ctx: RequestContext,
    system: SourceSystem,
    entity: str,
    kind: type[R],
    filters: Mapping[str, Any],
    first: int | None,
    after: str | None,
) -> Window[R]:
    """Up to `first` `kind` records of `system`'s `entity` listing after `after`."""
    fetch = ctx.loaders.pages(system, entity, filters)
    ahead = ctx.loaders.pages_ahead(system, entity, filters)
    window = await vendor_window(fetch, first, after, ctx.limits, ahead=ahead)
    edges: list[tuple[str | Cursor, R]] = []
    for cursor, record in window.edges:
        if not isinstance(record, kind):  # a connector bug: say so rather than mistype
            raise SourceDataError(system, f"{entity} listing returned a {type(record).__name__}")
        edges.append((cursor, record))
    ctx.loaders.listed(system, entity, [record for _, record in edges])
    return Window(edges, window.has_next_page, window.has_previous_page, window.total_count)
