"""Records made from vendor objects, remembered by what the object said.

A dashboard asks again and again for listings that have hardly changed: TIME answers a
month of a firm's time entries as thousands of objects, and making a validated record
from each costs several times what parsing its JSON did. `RecordMemo` keeps the records
it made, keyed by a SHA-256 digest of the object's own JSON, so an object seen before,
byte for byte, gives back the record made then (records are frozen, so sharing one is
safe). Any change to any field the vendor sent is a new key, so a remembered record is
never stale; what it costs a first read is one `orjson.dumps` and one digest per object.

It remembers conversions, not answers: every read still reaches the vendor and parses
all of its body, and caching answers stays the job of the TTL cache and its policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import orjson

R = TypeVar("R")
# Records a connector remembers per entity unless it says otherwise: a firm's projects,
# people or accounts (~1.5 KB each).
PER_ENTITY = 10_000


class RecordMemo(Generic[R]):
    """`memo(body)` is `make(body)`, made once per distinct body among the last `size`."""

    def __init__(self, make: Callable[[Any], R], size: int) -> None:
        if size < 1:
            raise ValueError("a memo keeps at least one record")
        self._make = make
        self._size = size
        self._kept: dict[bytes, R] = {}

    def __call__(self, body: Any) -> R:
        if not isinstance(body, Mapping):
            return self._make(body)  # let `make` say what is wrong with it
        key = hashlib.sha256(orjson.dumps(body)).digest()
        found = self._kept.get(key)
        if found is None:
            found = self._make(body)
            if len(self._kept) >= self._size:
                # Oldest first out: dicts keep insertion order.
                del self._kept[next(iter(self._kept))]
            self._kept[key] = found
        return found

    def __len__(self) -> int:
        return len(self._kept)
