"""The ERP's cursors: an offset for listings, a (lastmodifieddate, id) position for changes.

A change cursor reads `2024-05-01T13:45:00.250Z|1042`: the last change seen and, among the
records modified at that very time, the highest id seen. The next scan asks for
`lastmodifieddate > t OR (lastmodifieddate = t AND id > 1042)` in that order, so records
that share a timestamp are neither skipped nor repeated. (NetSuite's own timestamps are
coarser than the sandbox's; a record saved later within the same tick under a lower id
would still be missed there, which this position cannot tell.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ChangePosition:
    moment: dt.datetime
    after_id: str | None = None

    def encode(self) -> str:
        utc = self.moment.astimezone(dt.UTC)
        stamp = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}Z"
        return f"{stamp}|{self.after_id or ''}"

    @classmethod
    def decode(cls, cursor: str) -> ChangePosition:
        """The position in `cursor`; ValueError when it is not an ERP change cursor."""
        stamp, separator, after_id = cursor.partition("|")
        if not separator or (after_id and not after_id.isdigit()):
            raise ValueError(f"not an ERP change cursor: {cursor!r}")
        try:
            moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ERP change cursor: {cursor!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return cls(moment, after_id or None)


def decode_offset(cursor: str | None) -> int:
    """The offset a listing cursor holds; ValueError when it holds none."""
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ValueError(f"not an ERP page cursor: {cursor!r}")
    return int(cursor)
