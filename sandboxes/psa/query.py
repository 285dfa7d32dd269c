"""How the PSA sandbox answers index requests: filters, `only=`, paging, includes, and
Kantata's response envelope (`count`, ordered `results`, one id-keyed map per type, `meta`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandboxes.psa.tables import Row, Table, Tables, id_order

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
PAGING_PARAMS = frozenset({"page", "per_page"})
COMMON_PARAMS = PAGING_PARAMS | {"only", "include"}


class BadRequestError(ValueError):
    """A request the vendor would refuse with 400."""


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    def slice(self, rows: Sequence[Any]) -> Sequence[Any]:
        start = (self.page - 1) * self.per_page
        return rows[start : start + self.per_page]

    def meta(self, count: int) -> dict[str, int]:
        return {
            "count": count,
            "page_count": max(1, math.ceil(count / self.per_page)),
            "page_number": self.page,
            "page_size": self.per_page,
        }


def paging(params: Mapping[str, str]) -> Paging:
    try:
        page = int(params.get("page", "1"))
        per_page = int(params.get("per_page", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        raise BadRequestError("page and per_page must be integers") from None
    if page < 1 or per_page < 1:
        raise BadRequestError("page and per_page must be positive")
    return Paging(page, min(per_page, MAX_PAGE_SIZE))


def id_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def select(table: Table, params: Mapping[str, str]) -> list[Row]:
    """The rows matching every filter in `params`, in id order."""
    unknown = set(params) - COMMON_PARAMS - set(table.filters)
    if unknown:
        raise BadRequestError(f"unknown filter for {table.key}: {', '.join(sorted(unknown))}")
    checks = [table.filters[name](value) for name, value in params.items() if name in table.filters]
    if "only" in params:
        # Straight to the asked ids rather than a scan: `only=` is the hot path.
        wanted = {i for i in id_list(params["only"]) if i in table.rows}
        candidates = [table.rows[i] for i in sorted(wanted, key=id_order)]
    else:
        candidates = table.ordered()
    hidden = table.hidden
    if not checks:  # most lists filter nothing; spare every row the generator
        return [row for row in candidates if not hidden(row, params)]
    return [
        row for row in candidates if not hidden(row, params) and all(check(row) for check in checks)
    ]


def included(
    table: Table, rows: list[Row], params: Mapping[str, str], tables: Tables
) -> tuple[list[Row], dict[str, dict[str, Row]]]:
    """`include=`: the rows (annotated with association ids) and the included maps."""
    names = id_list(params.get("include", ""))
    unknown = [name for name in names if name not in table.includes]
    if unknown:
        raise BadRequestError(f"{table.key} cannot include {', '.join(unknown)}")
    shown = [dict(row) for row in rows]
    maps: dict[str, dict[str, Row]] = {}
    for name in names:
        id_field, associate = table.includes[name]
        target, links = associate(rows, tables)
        bucket = maps.setdefault(target, {})
        for row in shown:
            ids = links.get(row["id"], [])
            if id_field is not None:
                row[id_field] = ids
            for linked in ids:
                if linked in tables[target].rows:
                    bucket[linked] = tables[target].rows[linked]
    return shown, maps


def envelope(
    key: str,
    rows: Sequence[Row],
    *,
    count: int,
    paging: Paging,
    maps: Mapping[str, Mapping[str, Row]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "count": count,
        "results": [{"key": key, "id": row["id"]} for row in rows],
    }
    for other, records in (maps or {}).items():
        body[other] = dict(records)
    body[key] = {**body.get(key, {}), **{row["id"]: row for row in rows}}
    body["meta"] = paging.meta(count)
    return body


def render(
    table: Table, rows: list[Row], params: Mapping[str, str], tables: Tables
) -> dict[str, Any]:
    """One page of `rows` (already filtered) as Kantata's envelope."""
    window = paging(params)
    page_rows = list(window.slice(rows))
    shown, maps = included(table, page_rows, params, tables)
    return envelope(table.key, shown, count=len(rows), paging=window, maps=maps)
