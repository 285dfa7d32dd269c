"""An in-memory table with the indexes Harvest's filters need.

Time entries number in the hundreds of thousands at scale; filtering by project, user,
external reference, date range or `updated_since` should not scan them all on every page,
and the pages of one listing should not each select it again.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, ValuesView
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol, TypeVar


class Row(Protocol):
    id: str
    seq: int
    updated_at: datetime


RowT = TypeVar("RowT", bound=Row)
RowT_contra = TypeVar("RowT_contra", contravariant=True)

IndexKey = Callable[[RowT], str | None]
SortKey = tuple[int, ...]
RowOrder = Callable[[RowT], SortKey]


class Watcher(Protocol[RowT_contra]):
    """Something kept in step with a table's rows, such as per-project sums."""

    def add(self, row: RowT_contra) -> None:
        """`row` was stored, or has just changed."""

    def remove(self, row: RowT_contra) -> None:
        """`row` is about to change (it still holds its old values)."""


SELECTIONS_KEPT = 32


class Table(Mapping[str, RowT]):
    """Rows by id, equality indexes on named keys, every row ordered by updated_at, and,
    given an `order` (unique per row), every row in that order.

    Mutate a stored row only inside `updating(row)`, so its index entries and the
    table's `watchers` follow it.
    """

    def __init__(
        self,
        rows: Iterable[RowT],
        indexes: Mapping[str, IndexKey[RowT]],
        *,
        order: RowOrder[RowT] | None = None,
        watchers: Sequence[Watcher[RowT]] = (),
    ) -> None:
        self._keys = dict(indexes)
        self._order = order
        self._watchers = tuple(watchers)
        self._rows: dict[str, RowT] = {}
        self._index: dict[str, dict[str, set[str]]] = {name: {} for name in self._keys}
        self._by_updated: list[tuple[datetime, int, str]] = []
        self._ordered: list[tuple[SortKey, str]] = []
        # The latest selections, until any row changes: a listing read page by page
        # asks for the same selection once per page.
        self._selections: dict[tuple[object, ...], list[RowT]] = {}
        for row in rows:
            self._rows[row.id] = row
            self._index_row(row)
            self._by_updated.append(_updated_key(row))
            for watcher in self._watchers:
                watcher.add(row)
        self._by_updated.sort()
        if order is not None:
            self._ordered = sorted((order(row), row.id) for row in self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __getitem__(self, row_id: str) -> RowT:
        return self._rows[row_id]

    def values(self) -> ValuesView[RowT]:
        return self._rows.values()

    @property
    def index_names(self) -> frozenset[str]:
        return frozenset(self._keys)

    def add(self, row: RowT) -> None:
        if row.id in self._rows:
            raise ValueError(f"duplicate id {row.id}")
        self._rows[row.id] = row
        self._selections.clear()
        self._index_row(row)
        insort(self._by_updated, _updated_key(row))
        if self._order is not None:
            insort(self._ordered, (self._order(row), row.id))
        for watcher in self._watchers:
            watcher.add(row)

    @contextmanager
    def updating(self, row: RowT) -> Iterator[RowT]:
        self._unindex_row(row)
        old = _updated_key(row)
        del self._by_updated[bisect_left(self._by_updated, old)]
        if self._order is not None:
            del self._ordered[bisect_left(self._ordered, (self._order(row), row.id))]
        for watcher in self._watchers:
            watcher.remove(row)
        try:
            yield row
        finally:
            self._selections.clear()
            self._index_row(row)
            insort(self._by_updated, _updated_key(row))
            if self._order is not None:
                insort(self._ordered, (self._order(row), row.id))
            for watcher in self._watchers:
                watcher.add(row)

    def select(
        self,
        equal: Mapping[str, str],
        updated_since: datetime | None = None,
        within: tuple[SortKey, SortKey] | None = None,
    ) -> list[RowT]:
        """Rows matching every `equal` index value, updated at or after `updated_since`
        and, when `within` is (low, high), whose order key is at least low and below high.

        On a table with an `order` the rows come in that order; otherwise in none. The
        list is shared with later callers asking the same: do not change it.
        """
        key = (tuple(sorted(equal.items())), updated_since, within)
        found = self._selections.get(key)
        if found is None:
            if len(self._selections) >= SELECTIONS_KEPT:
                self._selections.clear()
            found = self._selections[key] = self._select(equal, updated_since, within)
        return found

    def _select(
        self,
        equal: Mapping[str, str],
        updated_since: datetime | None,
        within: tuple[SortKey, SortKey] | None,
    ) -> list[RowT]:
        order = self._order
        # Walk the narrowest of the candidate sets (by size, which is known without
        # building them) and check each row against the other conditions.
        sets = sorted(
            (self._index[name].get(value, set()) for name, value in equal.items()), key=len
        )
        start = None if updated_since is None else bisect_left(self._by_updated, (updated_since,))
        recent = 0 if start is None else len(self._by_updated) - start
        low = high = 0
        if within is not None:
            if order is None:
                raise ValueError("this table has no order to select a range of")
            low = bisect_left(self._ordered, (within[0],))
            high = max(low, bisect_left(self._ordered, (within[1],)))
        sizes = [
            (len(sets[0]) if sets else None, "set"),
            (recent if start is not None else None, "recent"),
            (high - low if within is not None else None, "range"),
        ]
        drivers = [(size, kind) for size, kind in sizes if size is not None]
        if not drivers:
            if order is None:
                return list(self._rows.values())
            return [self._rows[row_id] for _, row_id in self._ordered]
        _, driver = min(drivers)
        rows = self._rows
        if driver == "range":
            found = [rows[row_id] for _, row_id in self._ordered[low:high]]
        elif driver == "recent":
            found = [rows[row_id] for _, _, row_id in self._by_updated[start:]]
        else:
            found = [rows[row_id] for row_id in sets[0]]
        others = sets if driver != "set" else sets[1:]
        if others:
            found = [row for row in found if all(row.id in ids for ids in others)]
        if driver != "recent" and updated_since is not None:
            found = [row for row in found if row.updated_at >= updated_since]
        if driver != "range" and within is not None and order is not None:
            found = [row for row in found if within[0] <= order(row) < within[1]]
        if order is not None and driver != "range":
            found.sort(key=order)
        return found

    def _index_row(self, row: RowT) -> None:
        for name, key in self._keys.items():
            value = key(row)
            if value is not None:
                self._index[name].setdefault(value, set()).add(row.id)

    def _unindex_row(self, row: RowT) -> None:
        for name, key in self._keys.items():
            value = key(row)
            if value is not None:
                self._index[name][value].discard(row.id)


def _updated_key(row: Row) -> tuple[datetime, int, str]:
    return (row.updated_at, row.seq, row.id)
