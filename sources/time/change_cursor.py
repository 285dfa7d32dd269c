"""The change-scan cursor: the latest `updated_at` seen, and the ids seen at exactly it.

Harvest's `updated_since` is asked from that moment (floored to the second, Harvest's
precision), so the scan overlaps the previous one; records already seen at the cursor's
moment are dropped, and anything newer is returned. Nothing is missed on ties, and
nothing is returned twice.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sources.records import Record


@dataclass(frozen=True)
class ChangeCursor:
    since: dt.datetime  # timezone-aware
    seen: frozenset[str] = frozenset()  # ids whose updated_at is exactly `since`

    @classmethod
    def now(cls) -> ChangeCursor:
        moment = dt.datetime.now(dt.UTC)
        # Millisecond precision, as fine as any timestamp the vendor reports.
        return cls(moment.replace(microsecond=moment.microsecond // 1000 * 1000))

    @property
    def query_since(self) -> dt.datetime:
        return self.since.replace(microsecond=0)

    def is_new(self, record: Record) -> bool:
        stamp = _stamp(record)
        return stamp > self.since or (stamp == self.since and record.id not in self.seen)

    def advance(self, records: Iterable[Record]) -> ChangeCursor:
        """The cursor after `records` (the new ones of a scan from this cursor)."""
        since, seen = self.since, set(self.seen)
        for record in records:
            stamp = _stamp(record)
            if stamp > since:
                since, seen = stamp, {record.id}
            elif stamp == since:
                seen.add(record.id)
        return ChangeCursor(since, frozenset(seen))

    def encode(self) -> str:
        payload = {"since": self.since.isoformat(), "seen": sorted(self.seen)}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    @classmethod
    def decode(cls, cursor: str) -> ChangeCursor:
        try:
            payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            since = dt.datetime.fromisoformat(payload["since"])
            seen = frozenset(str(i) for i in payload["seen"])
        except (binascii.Error, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"not a TIME change cursor: {cursor!r}") from error
        if since.tzinfo is None:
            raise ValueError(f"not a TIME change cursor: {cursor!r}")
        return cls(since, seen)


def _stamp(record: Record) -> dt.datetime:
    if record.modified_at is None:
        raise ValueError(f"record {record.id} has no modification time")
    return record.modified_at
