"""Resource: the HCM worker, with the PSA and TIME users that are the same person."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from gateway.staffing_conflicts import BookingConflict as BookingConflictRecord
from resolvers import ids, staffing
from resolvers import people as resolve
from resolvers.context import RequestContext
from resolvers.links import ResourceView
from schema.common import (
    FieldConflict,
    GatewayInfo,
    Money,
    Node,
    SystemRef,
    at_once,
    conflicts,
    context,
    described,
    money,
    refs,
)
from schema.shared_views import shared

AssignmentRef = Annotated["Assignment", strawberry.lazy("schema.projects")]


@strawberry.type(description="A booking that is no longer true (docs/staffing.md).")
class BookingConflict:
    kind: str = strawberry.field(description="OVER_CAPACITY or INACTIVE_ASSIGNED.")
    summary: str
    week: date | None = strawberry.field(description="OVER_CAPACITY: the first week over.")
    booked_hours: float
    capacity_hours: float

    @classmethod
    def of(cls, found: BookingConflictRecord) -> BookingConflict:
        return cls(
            kind=found.kind,
            summary=found.summary,
            week=found.week,
            booked_hours=found.booked_hours,
            capacity_hours=found.capacity_hours,
        )


@strawberry.type(description="A person: the HCM worker, matched to PSA and TIME users.")
class Resource(Node):
    name: str
    email: str | None
    title: str | None
    practice: str | None
    location: str | None
    skills: list[str]
    cost_rate: Money | None
    bill_rate: Money | None
    view: strawberry.Private[ResourceView]

    @classmethod
    @shared(lambda view: (view.worker, view.psa_user))
    def of(cls, view: ResourceView) -> Resource:
        worker, user = view.worker, view.psa_user
        global_id = strawberry.ID(ids.encode("Resource", view.key))
        if worker is not None:
            return cls(
                id=global_id,
                name=worker.name,
                email=worker.email,
                title=worker.title,
                practice=worker.practice,
                location=worker.location,
                skills=list(worker.skills),
                cost_rate=money(worker.cost_rate, worker.currency),
                bill_rate=money(worker.bill_rate, worker.currency),
                view=view,
            )
        assert user is not None  # a view has one or the other
        return cls(
            id=global_id,
            name=user.name,
            email=user.email,
            title=None,
            practice=None,
            location=None,
            skills=[],
            cost_rate=None,
            bill_rate=None,
            view=view,
        )

    @strawberry.field
    def manager(self, info: GatewayInfo) -> Resource | None:
        # Not `async` (see `at_once`), nor is `utilization`: a page read ahead answers both.
        ctx = context(info)
        return at_once(resolve.manager_if_read(ctx, self.view), Resource.of, self._manager, ctx)

    async def _manager(self, ctx: RequestContext) -> Resource | None:
        view = await resolve.manager(ctx, self.view)
        return Resource.of(view) if view is not None else None

    @described("Null when PSA cannot be reached.")
    async def assignments(self, info: GatewayInfo) -> list[AssignmentRef] | None:
        return [Assignment.of(a) for a in await resolve.assignments(context(info), self.view)]

    @described("Billable approved hours over capacity in [from, to].")
    def utilization(
        self,
        info: GatewayInfo,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
    ) -> float | None:
        ctx = context(info)
        found = resolve.utilization_if_read(ctx, self.view, from_, to)
        return at_once(found, float, resolve.utilization, ctx, self.view, from_, to)

    @described(
        "The person's id in each system; a system that cannot be reached is "
        "left out and named in the response's errors."
    )
    async def system_refs(self, info: GatewayInfo) -> list[SystemRef]:
        ctx = context(info)
        found = await resolve.system_refs(ctx, self.view, ctx.reporter(info.path.as_list()))
        return refs(found)

    @described(
        "Bookings that stopped being true: over the person's HCM capacity in a week from "
        "today on, or held by someone who has left."
    )
    async def booking_conflicts(self, info: GatewayInfo) -> list[BookingConflict]:
        found = await staffing.booking_conflicts(context(info), self.view)
        return [BookingConflict.of(c) for c in found]

    @described("Where HCM, PSA and TIME disagree about this person.")
    async def conflicts(self, info: GatewayInfo) -> list[FieldConflict] | None:
        return conflicts(await resolve.conflicts(context(info), self.view))


# Below the classes: these modules and this one refer to one another's types, and a row's
# field imported them on every call (~1 µs each, a few per row on a 1,000-row board).
from schema.projects import Assignment  # noqa: E402
