"""Rows kept rendered as JSON until they change.

A scan reads 2,000 entries per page, and a dashboard asks for the same pages again on its
next refresh. Rendering each row to a dict and encoding it was two thirds of the TIME
sandbox's work per page (~25 ms of Python per page, which would be timed as the vendor's
latency); listing every project cost ~8 ms the same way. As a watcher of its own table a
`Rendered` forgets a row about to change; as a watcher of the tables a rendering quotes
(an entry quotes its user and project) it forgets all.

The renderings are kept in a plain dict, emptied when full, rather than an LRU: a page
looks up 2,000 of them, and an LRU's bookkeeping on every hit was a fifth of the
sandbox's time per page; a month of a big firm's entries fits in `KEPT`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import orjson

KEPT = 32_768  # ~25 MB of entries' JSON: a month of a 1,000-person firm's time


class Identified(Protocol):
    @property
    def id(self) -> str: ...


RowT = TypeVar("RowT", bound=Identified)


class Rendered(Generic[RowT]):
    def __init__(self, render: Callable[[RowT], dict[str, Any]], kept: int = KEPT) -> None:
        self._render = render
        self._limit = kept
        self._kept: dict[str, orjson.Fragment] = {}

    def __call__(self, row: RowT) -> orjson.Fragment:
        """`row` as its JSON, for an orjson-encoded response."""
        rendered = self._kept.get(row.id)
        if rendered is None:
            if len(self._kept) >= self._limit:
                self._kept.clear()
            rendered = self._kept[row.id] = orjson.Fragment(orjson.dumps(self._render(row)))
        return rendered

    def add(self, row: RowT) -> None:
        """Nothing kept: a row is rendered when first asked for."""

    def remove(self, row: RowT) -> None:
        self._kept.pop(row.id, None)

    def quoted(self) -> _ForgetAll:
        """A watcher for a table the rendering quotes from."""
        return _ForgetAll(self._kept)


class _ForgetAll:
    def __init__(self, kept: dict[str, orjson.Fragment]) -> None:
        self._kept = kept

    def add(self, row: object) -> None:
        pass

    def remove(self, row: object) -> None:
        self._kept.clear()
