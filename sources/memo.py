"""Records made from vendor objects, remembered by what the object said.

A dashboard asks again and again for listings that have hardly changed: TIME answers a
month of a firm's time entries as thousands of objects, and making a validated record
from each costs several times what parsing its JSON did. `RecordMemo` keeps the records
it made, keyed by a SHA-256 digest of the object's own JSON, so an object seen before,
byte for byte, gives back the record made then (records are frozen, so sharing one is
safe). Any change to any field the vendor sent is a new key, so a remembered record is
never stale; what it costs a first read is one `orjson.dumps` and one digest per object.

It remembers conversions, not answers: every read still reaches the vendor, and caching
answers stays the job of the TTL cache and its policy.

Bodies parsed with exact decimals (the ERP's) are keyed with `exact_digest`, which
writes a `Decimal` apart from any string the vendor could send. An object kept as the
vendor's own bytes (TIME's listings, the PSA's envelopes, the HCM's and CRM's records)
is keyed by those bytes (`key=bytes`): nothing is dumped again or parsed before it is
new, and hashing ~750 bytes costs half a SHA-256 of them, for ~0.8 KB more kept per
record. A body no key can be taken of (an integer beyond 64 bits) is made every time,
never remembered.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson

R = TypeVar("R")
# Records a connector remembers per entity unless it says otherwise: a firm's projects,
# people or accounts (~1.5 KB each).
PER_ENTITY = 10_000
# Decimals are written behind this process's own random tag, so no string a vendor sends
# can stand for a number in a key.
_DECIMAL = secrets.token_hex(8)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL}{value}"
    raise TypeError(f"{type(value).__name__} is not JSON")


def exact_dumps(body: Any) -> bytes:
    """`orjson.dumps` for bodies parsed with `parse_float=Decimal`."""
    return orjson.dumps(body, default=_exact)


def digest(body: Any) -> bytes:
    """The SHA-256 of the body's JSON: equal for objects equal byte for byte."""
    return hashlib.sha256(orjson.dumps(body)).digest()


def exact_digest(body: Any) -> bytes:
    """`digest` for bodies parsed with `parse_float=Decimal`."""
    return hashlib.sha256(exact_dumps(body)).digest()


class RecordMemo(Generic[R]):
    """`memo(body)` is `make(body)`, made once per distinct body among the last `size`."""

    def __init__(
        self,
        make: Callable[[Any], R],
        size: int,
        *,
        key: Callable[[Any], Hashable] = digest,
    ) -> None:
        if size < 1:
            raise ValueError("a memo keeps at least one record")
        self._make = make
        self._size = size
        self._key = key
        # Not a dict: deleting a dict's first key again and again leaves a growing run of
        # dead slots at its front that every `next(iter(...))` walks past (~15 µs an
        # eviction at 20,000 keys, most of a monitor scan of 28,000 time entries).
        self._kept: OrderedDict[Hashable, R] = OrderedDict()

    def __call__(self, body: Any) -> R:
        try:
            key = self._key(body)
            found = self._kept.get(key)
        except TypeError:  # no digest of it (orjson's JSONEncodeError is a TypeError)
            return self._make(body)  # let `make` say what, if anything, is wrong with it
        if found is None:
            found = self._make(body)
            if len(self._kept) >= self._size:
                self._kept.popitem(last=False)  # oldest first out
            self._kept[key] = found
        return found

    def __len__(self) -> int:
        return len(self._kept)
