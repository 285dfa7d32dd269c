"""TimeEntry, from TIME."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from resolvers import ids
from resolvers import timesheets as resolve
from resolvers.links import TIME
from schema.common import (
    GatewayInfo,
    Node,
    SystemRef,
    TimeEntryStatus,
    context,
    described,
    enum_value,
    refs,
)
from sources.records import TimeEntry as TimeEntryRecord

ResourceRef = Annotated["Resource", strawberry.lazy("schema.people")]
ProjectRef = Annotated["Project", strawberry.lazy("schema.projects")]
InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.billing")]


@strawberry.type
class TimeEntry(Node):
    date: dt.date
    hours: float
    billable: bool
    status: TimeEntryStatus
    notes: str | None
    approved_at: dt.datetime | None
    record: strawberry.Private[TimeEntryRecord]

    @classmethod
    def of(cls, entry: TimeEntryRecord) -> TimeEntry:
        return cls(
            id=strawberry.ID(ids.encode("TimeEntry", entry.id)),
            date=entry.date,
            hours=entry.hours,
            billable=entry.billable,
            status=enum_value(TimeEntryStatus, entry.status, TIME),
            notes=entry.notes,
            approved_at=entry.approved_at,
            record=entry,
        )

    @described("Null when HCM or PSA cannot be reached.")
    async def resource(self, info: GatewayInfo) -> ResourceRef | None:
        view = await resolve.resource(context(info), self.record)
        return Resource.of(view) if view is not None else None

    @described("Null when PSA cannot be reached.")
    async def project(self, info: GatewayInfo) -> ProjectRef | None:
        found = await resolve.project(context(info), self.record)
        return Project.of(found) if found is not None else None

    @described("The TIME entry, and the ERP time bill once the approved hours are posted.")
    async def system_refs(self, info: GatewayInfo) -> list[SystemRef]:
        return refs(await resolve.system_refs(context(info), self.record))

    @described("When the approved hours reached the ERP; null until then.")
    async def posted_to_erp_at(self, info: GatewayInfo) -> dt.datetime | None:
        posted = await resolve.posting(context(info), self.record)
        return posted.modified_at if posted is not None else None

    @described("The ERP invoice that billed this time, if any.")
    async def invoice(self, info: GatewayInfo) -> InvoiceRef | None:
        found = await resolve.invoice(context(info), self.record)
        return Invoice.of(found) if found is not None else None


# Below the classes: these modules and this one refer to one another's types, and a row's
# field imported them on every call (~1 µs each, a few per row on a 1,000-row board).
from schema.billing import Invoice  # noqa: E402
from schema.people import Resource  # noqa: E402
from schema.projects import Project  # noqa: E402
