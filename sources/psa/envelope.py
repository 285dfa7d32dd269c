"""Reading Kantata's response envelope.

    {"count": 2,
     "results": [{"key": "workspaces", "id": "10"}, {"key": "workspaces", "id": "11"}],
     "workspaces": {"10": {...}, "11": {...}},
     "users": {"2": {...}},                       # included associations
     "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20}}

`results` is the answer, in order; the maps hold the records, the answer's and the
included ones alike (an association can share the main type, so the maps alone cannot
say which records were asked for).

The maps' records are kept as the vendor's own JSON bytes (msgspec's `Raw`): finding
where each begins and ends is all a page costs until a record is read, and a connector
that remembers records by those bytes never parses one it has seen before. A 100-row
page of workspaces (~67 KB) seen before costs ~0.14 ms instead of ~0.25 ms of parsing
and digests of its rows dumped again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

Row = Mapping[str, Any]
# One pass: a map of records keeps each as its bytes; `results` and the rest are parsed.
_BODY = msgspec.json.Decoder(
    dict[str, dict[str, msgspec.Raw] | list[Any] | str | int | float | bool | None]
)


class MalformedEnvelopeError(ValueError):
    """The body is not a Kantata envelope."""


@dataclass(frozen=True)
class Envelope:
    results: list[tuple[str, str]]  # (map key, id), in the vendor's order
    maps: Mapping[str, Mapping[str, msgspec.Raw]]  # each record as the vendor's bytes
    count: int | None
    page_number: int
    page_count: int

    def answer(self, key: str) -> list[tuple[str, msgspec.Raw]]:
        """(id, record's bytes) of the answer's records of type `key`, in `results` order."""
        return [(i, self.maps[k][i]) for k, i in self.results if k == key]

    def rows(self, key: str) -> list[Row]:
        """The answer's records of type `key`, parsed, in `results` order."""
        return [msgspec.json.decode(raw) for _, raw in self.answer(key)]

    def lookup(self, key: str, record_id: Any) -> Any:
        """An included (or answered) record, by type and id, parsed."""
        if record_id is None:
            return None
        raw = self.maps.get(key, {}).get(str(record_id))
        return None if raw is None else msgspec.json.decode(raw)

    @property
    def has_more(self) -> bool:
        return self.page_number < self.page_count


def parse_envelope(content: bytes) -> Envelope:
    """The envelope in a body; MalformedEnvelopeError when it is not one (or not JSON)."""
    try:
        body = _BODY.decode(content)
    except msgspec.ValidationError as error:
        raise MalformedEnvelopeError(f"not an object: {error}") from error
    except msgspec.DecodeError as error:
        raise MalformedEnvelopeError(f"not JSON: {error}") from error
    refs = body.get("results")
    if not isinstance(refs, list):
        raise MalformedEnvelopeError("no results list")
    maps = {
        key: value
        for key, value in body.items()
        if key not in ("count", "results", "meta") and isinstance(value, dict)
    }
    results: list[tuple[str, str]] = []
    for ref in refs:
        if not isinstance(ref, Mapping) or "key" not in ref or "id" not in ref:
            raise MalformedEnvelopeError(f"bad result reference {ref!r}")
        key, record_id = str(ref["key"]), str(ref["id"])
        record = maps.get(key, {}).get(record_id)
        if record is None or memoryview(record)[0] != _OPEN_BRACE:
            raise MalformedEnvelopeError(f"result {key}/{record_id} is missing from its map")
        results.append((key, record_id))
    meta = _meta(body.get("meta"))
    count = meta.get("count", body.get("count"))
    page_number = meta.get("page_number", 1)
    page_count = meta.get("page_count", 1)
    for name, value in (("count", count), ("page_number", page_number), ("page_count", page_count)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise MalformedEnvelopeError(f"{name} is not a number: {value!r}")
    return Envelope(results, maps, count, page_number or 1, page_count or 1)


_OPEN_BRACE = ord("{")


def _meta(found: Any) -> Mapping[str, Any]:
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise MalformedEnvelopeError("meta is not an object")
    return {name: msgspec.json.decode(raw) for name, raw in found.items()}
