"""The PSA connector's cursors: where a listing is, and how far the event feed was read.

Both are opaque strings to callers and raise ValueError when handed something else.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sources.connector import NumberedCursors


@dataclass(frozen=True)
class PagePosition:
    """A page of one chunk of a listing: Kantata pages by number, and a filter on more ids
    than one request carries is split into chunks, each paged in turn."""

    chunk: int = 0
    page: int = 1

    def encode(self) -> str:
        return f"{self.chunk}:{self.page}"

    @classmethod
    def decode(cls, cursor: str | None) -> PagePosition:
        if cursor is None:
            return cls()
        chunk, sep, page = cursor.partition(":")
        if not (sep and chunk.isdigit() and page.isdigit() and int(page) >= 1):
            raise ValueError(f"not a PSA page cursor: {cursor!r}")
        return cls(int(chunk), int(page))

    def rest_of_chunk(self, page_count: int) -> NumberedCursors:
        """The cursors of this chunk's later pages, Kantata's page count being known."""
        chunk = self.chunk
        return NumberedCursors(
            range(self.page + 1, page_count + 1), lambda page: PagePosition(chunk, page).encode()
        )

    def after(self, *, has_more: bool, chunks: int) -> PagePosition | None:
        if has_more:
            return PagePosition(self.chunk, self.page + 1)
        if self.chunk + 1 < chunks:
            return PagePosition(self.chunk + 1, 1)
        return None


@dataclass(frozen=True)
class FeedCursor:
    """How far the subscribed-events feed was read.

    Kantata's events can show up late and out of order, so each scan looks back
    `overlap` before `newest` and drops the events in `seen` (the ids already read inside
    that look-back window). `seen` holds only the window, so the cursor stays small.
    """

    newest: dt.datetime  # the latest created_at read so far (or when reading began)
    seen: frozenset[str] = frozenset()

    def encode(self) -> str:
        body = {"t": self.newest.isoformat(), "seen": sorted(self.seen)}
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> FeedCursor:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            body = json.loads(raw)
            newest = dt.datetime.fromisoformat(body["t"])
            seen = frozenset(str(i) for i in body["seen"])
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"not a PSA change cursor: {cursor!r}") from error
        if newest.tzinfo is None:
            raise ValueError(f"not a PSA change cursor: {cursor!r}")
        return cls(newest, seen)

    @classmethod
    def begin(
        cls, events: Sequence[Mapping[str, Any]], now: dt.datetime, overlap: dt.timedelta
    ) -> FeedCursor:
        """A cursor for 'now': every event in `events` (the feed's last `overlap` before
        `now`) counts as read. The feed's own newest time wins over ours, so a clock that
        runs ahead of the vendor's does not skip its next events."""
        if not events:
            return cls(now)
        _, after = cls(min(event_time(e) for e in events)).advance(events, overlap)
        return after

    def window_start(self, overlap: dt.timedelta) -> dt.datetime:
        return self.newest - overlap

    def advance(
        self, events: Sequence[Mapping[str, Any]], overlap: dt.timedelta
    ) -> tuple[list[Mapping[str, Any]], FeedCursor]:
        """The events not read before (once each, oldest first), and the cursor after them.

        `events` must be everything the feed holds after `window_start(overlap)`.
        """
        stamped = sorted(
            ((event_time(e), str(e["id"]), e) for e in events),
            key=lambda t: (t[0], len(t[1]), t[1]),  # numeric ids in number order
        )
        fresh: list[Mapping[str, Any]] = []
        taken: set[str] = set()
        for _, event_id, event in stamped:
            if event_id not in self.seen and event_id not in taken:
                taken.add(event_id)
                fresh.append(event)
        newest = max([self.newest, *(at for at, _, _ in stamped)])
        horizon = newest - overlap
        seen = frozenset(event_id for at, event_id, _ in stamped if at >= horizon)
        return fresh, FeedCursor(newest, seen)


def event_time(event: Mapping[str, Any]) -> dt.datetime:
    moment = dt.datetime.fromisoformat(event["created_at"])
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
