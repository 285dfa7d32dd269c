"""Query.events reads the log: cursors in and out as strings, data as a JSON string."""

from __future__ import annotations

import json

import pytest

from gateway.events.domain import DomainEvent, Subject
from gateway.events.log import EventLog
from resolvers.errors import InvalidInputError
from resolvers.events import LogEvents
from sources.records import SourceSystem


def event(n: int, kind: str = "InvoicePosted") -> DomainEvent:
    return DomainEvent(
        type=kind,
        source=SourceSystem.ERP,
        subject=Subject("Invoice", str(n)),
        data={"id": str(n), "amount": n * 100},
        dedup_key=f"{kind}:{n}",
    )


async def test_events_after_a_cursor_of_the_asked_types(event_log: EventLog):
    first, *_ = await event_log.append([event(1), event(2, "InvoicePaid"), event(3)])
    reader = LogEvents(event_log)

    found = await reader.read(after=str(first.cursor), types=["InvoicePosted"], limit=10)

    assert [(e.type, e.subject_id, e.source) for e in found] == [
        ("InvoicePosted", "Invoice:3", SourceSystem.ERP)
    ]
    assert json.loads(found[0].data) == {"amount": 300, "id": "3"}
    assert found[0].cursor == str(first.cursor + 2)


async def test_a_cursor_that_is_not_ours_is_the_callers_mistake(event_log: EventLog):
    with pytest.raises(InvalidInputError, match="after: 'yesterday' is not an event cursor"):
        await LogEvents(event_log).read(after="yesterday", types=None, limit=10)
