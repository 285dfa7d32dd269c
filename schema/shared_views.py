"""One schema object per source record, shared by the rows and requests that show it.

A node type's `of(record)` copies a record's fields into a strawberry object, formatting
ids, enums and money on the way: ~1.5 to 2 µs a row, paid again by every request that shows
the same record, though records are immutable and the connectors' memos and the source
cache hand out the very same record object while its bytes do not change. `shared`
keeps the object built for each record (by identity: never an equal copy from other
bytes), so a page of rows already seen costs a dictionary look-up per row.

Sharing is safe because what `of` builds depends on the record alone: nothing of the
caller is in it, every field's policy is applied when the field resolves, and nothing
sets attributes on these objects after they are built. The map is bounded: when full it
starts again, and the records it held are free to go.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

S = TypeVar("S")  # what `of` reads: a record, or a view of one or two records
T = TypeVar("T")  # the schema object it builds

LIMIT = 20_000  # objects kept per node type: more than a 1,000-row board shows of each


class SharedViews(Generic[S, T]):
    """`of(source)`, built once per source object while that object is kept.

    `parts(source)`, when given, names the immutable records the result is made from,
    for a source that is itself made afresh: a `ClientView` is built by each request, but
    of the same account and customer records (its key is theirs). Without it, the source
    is the record."""

    def __init__(
        self, of: Callable[[S], T], parts: Callable[[S], tuple[Any, ...]] | None = None
    ) -> None:
        self._of = of
        self._parts = parts
        # Keyed by ids, which are unique among live objects: each entry keeps what its
        # key was made from alive, so no other object can take one of its ids meanwhile.
        self._kept: dict[Any, tuple[Any, T]] = {}

    def __call__(self, source: S) -> T:
        made_of: Any = source if self._parts is None else self._parts(source)
        key = id(source) if self._parts is None else tuple(map(id, made_of))
        hit = self._kept.get(key)
        if hit is not None:
            return hit[1]
        built = self._of(source)
        if len(self._kept) >= LIMIT:
            self._kept.clear()
        self._kept[key] = (made_of, built)
        return built


def shared(
    parts: Callable[[Any], tuple[Any, ...]] | None = None,
) -> Callable[[Callable[[Any, S], T]], Callable[[Any, S], T]]:
    """For a node type's `of` (under `@classmethod`): what it builds, `SharedViews` of
    it, one map per class it is called on."""

    def decorate(build: Callable[[Any, S], T]) -> Callable[[Any, S], T]:
        by_class: dict[type, SharedViews[S, T]] = {}

        def of(cls: Any, source: S) -> T:
            views = by_class.get(cls)
            if views is None:
                views = by_class[cls] = SharedViews(partial(build, cls), parts)
            return views(source)

        return of

    return decorate
