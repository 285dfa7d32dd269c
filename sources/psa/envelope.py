"""Reading Kantata's response envelope.

    {"count": 2,
     "results": [{"key": "workspaces", "id": "10"}, {"key": "workspaces", "id": "11"}],
     "workspaces": {"10": {...}, "11": {...}},
     "users": {"2": {...}},                       # included associations
     "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20}}

`results` is the answer, in order; the maps hold the records, the answer's and the
included ones alike (an association can share the main type, so the maps alone cannot
say which records were asked for).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


class MalformedEnvelopeError(ValueError):
    """The body is not a Kantata envelope."""


@dataclass(frozen=True)
class Envelope:
    results: list[tuple[str, str]]  # (map key, id), in the vendor's order
    maps: Mapping[str, Mapping[str, Row]]
    count: int | None
    page_number: int
    page_count: int

    def rows(self, key: str) -> list[Row]:
        """The answer's records of type `key`, in `results` order."""
        return [self.maps[k][i] for k, i in self.results if k == key]

    def lookup(self, key: str, record_id: Any) -> Row | None:
        """An included (or answered) record, by type and id."""
        if record_id is None:
            return None
        return self.maps.get(key, {}).get(str(record_id))

    @property
    def has_more(self) -> bool:
        return self.page_number < self.page_count


def parse_envelope(body: Any) -> Envelope:
    """The envelope in `body`; MalformedEnvelopeError when it is not one."""
    if not isinstance(body, Mapping):
        raise MalformedEnvelopeError(f"expected an object, got {type(body).__name__}")
    refs = body.get("results")
    if not isinstance(refs, list):
        raise MalformedEnvelopeError("no results list")
    maps = {
        key: value
        for key, value in body.items()
        if key not in ("count", "results", "meta") and isinstance(value, Mapping)
    }
    results: list[tuple[str, str]] = []
    for ref in refs:
        if not isinstance(ref, Mapping) or "key" not in ref or "id" not in ref:
            raise MalformedEnvelopeError(f"bad result reference {ref!r}")
        key, record_id = str(ref["key"]), str(ref["id"])
        record = maps.get(key, {}).get(record_id)
        if not isinstance(record, Mapping):
            raise MalformedEnvelopeError(f"result {key}/{record_id} is missing from its map")
        results.append((key, record_id))
    meta = body.get("meta")
    meta = {} if meta is None else meta
    if not isinstance(meta, Mapping):
        raise MalformedEnvelopeError("meta is not an object")
    count = meta.get("count", body.get("count"))
    page_number = meta.get("page_number", 1)
    page_count = meta.get("page_count", 1)
    for name, value in (("count", count), ("page_number", page_number), ("page_count", page_count)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise MalformedEnvelopeError(f"{name} is not a number: {value!r}")
    return Envelope(results, maps, count, page_number or 1, page_count or 1)
