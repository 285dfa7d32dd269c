"""An in-memory table with the indexes Harvest's filters need.

Time entries number in the hundreds of thousands at scale; filtering by project, user,
external reference or `updated_since` should not scan them all on every page.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol, TypeVar


class Row(Protocol):
    id: str
    seq: int
    updated_at: datetime


RowT = TypeVar("RowT", bound=Row)

IndexKey = Callable[[RowT], str | None]


class Table(Mapping[str, RowT]):
    """Rows by id, equality indexes on named keys, and every row ordered by updated_at.

    Mutate a stored row only inside `updating(row)`, so its index entries follow it.
    """

    def __init__(self, rows: Iterable[RowT], indexes: Mapping[str, IndexKey[RowT]]) -> None:
        self._keys = dict(indexes)
        self._rows: dict[str, RowT] = {}
        self._index: dict[str, dict[str, set[str]]] = {name: {} for name in self._keys}
        self._by_updated: list[tuple[datetime, int, str]] = []
        for row in rows:
            self._rows[row.id] = row
            self._index_row(row)
            self._by_updated.append(_updated_key(row))
        self._by_updated.sort()

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __getitem__(self, row_id: str) -> RowT:
        return self._rows[row_id]

    @property
    def index_names(self) -> frozenset[str]:
        return frozenset(self._keys)

    def add(self, row: RowT) -> None:
        if row.id in self._rows:
            raise ValueError(f"duplicate id {row.id}")
        self._rows[row.id] = row
        self._index_row(row)
        insort(self._by_updated, _updated_key(row))

    @contextmanager
    def updating(self, row: RowT) -> Iterator[RowT]:
        self._unindex_row(row)
        old = _updated_key(row)
        del self._by_updated[bisect_left(self._by_updated, old)]
        try:
            yield row
        finally:
            self._index_row(row)
            insort(self._by_updated, _updated_key(row))

    def select(
        self, equal: Mapping[str, str], updated_since: datetime | None = None
    ) -> Iterable[RowT]:
        """Rows matching every `equal` index value and updated at or after `updated_since`."""
        candidates: list[set[str]] = [
            self._index[name].get(value, set()) for name, value in equal.items()
        ]
        if updated_since is not None:
            start = bisect_left(self._by_updated, (updated_since,))
            candidates.append({row_id for _, _, row_id in self._by_updated[start:]})
        if not candidates:
            return self._rows.values()
        candidates.sort(key=len)
        ids = set.intersection(*candidates) if len(candidates) > 1 else candidates[0]
        return [self._rows[row_id] for row_id in ids]

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
