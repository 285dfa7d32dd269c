"""The PSA sandbox's subscribed-events feed: every change, kept for a week.

Like Kantata's, the feed can deliver late: while `hold` is on, new events are recorded
with their true `created_at` but stay unpublished until `release()`, so a poller that has
moved past that time must look back to find them.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sandboxes.psa.tables import Row, Table, stamp

HISTORY = dt.timedelta(days=7)


@dataclass
class Event:
    at: dt.datetime
    body: dict[str, Any]


@dataclass
class EventLog:
    account_id: str
    hold: bool = False
    _published: list[Event] = field(default_factory=list)
    _held: list[Event] = field(default_factory=list)
    _last_id: int = 0

    def record(
        self,
        table: Table,
        action: str,
        *,
        at: dt.datetime,
        previous: Row | None,
        current: Row,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Append `<singular>:<action>` for `current`; return the event body."""
        self._last_id += 1
        changes = {
            name: [previous.get(name), value]
            for name, value in current.items()
            if previous is not None and previous.get(name) != value
        }
        body = {
            "id": str(self._last_id),
            "account_id": self.account_id,
            "created_at": stamp(at),
            "event_type": f"{table.singular}:{action}",
            "subject_type": table.subject_type,
            "subject_id": current["id"],
            "subject_ref": {"key": table.key, "id": current["id"]},
            "subject_changed_at": current.get("updated_at"),
            "user_id": user_id,
            "current_payload": copy.deepcopy(current),
            "previous_payload": copy.deepcopy(previous),
            "payload_changes": changes,
        }
        (self._held if self.hold else self._published).append(Event(at, body))
        self._forget_before(at - HISTORY)
        return body

    def release(self) -> int:
        """Publish every held event, late, at its original time; return how many."""
        released = len(self._held)
        self._published.extend(self._held)
        self._published.sort(key=lambda event: (event.at, int(event.body["id"])))
        self._held.clear()
        return released

    def query(
        self,
        *,
        created_after: dt.datetime | None,
        created_before: dt.datetime | None,
        event_types: Collection[str] | None,
    ) -> list[dict[str, Any]]:
        return [
            event.body
            for event in self._published
            if (created_after is None or event.at > created_after)
            and (created_before is None or event.at < created_before)
            and (not event_types or event.body["event_type"] in event_types)
        ]

    def _forget_before(self, horizon: dt.datetime) -> None:
        if self._published and self._published[0].at < horizon:
            self._published = [event for event in self._published if event.at >= horizon]
