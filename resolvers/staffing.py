"""Staffing: open requests, and the people who could fill them.

Every candidate list of a request reads the same four request-wide listings (HCM workers,
PSA users, PSA participations, and one batch of the last four weeks' billable hours), so
ranking all open requests of a practice costs what ranking one does: no source is called
once per request or per candidate.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import cast

from gateway.staffing_conflicts import BookingConflict, conflicts_of
from gateway.staffing_rank import Candidate, rank, window
from resolvers import derived, links
from resolvers.connections import Window, page_size, vendor_window
from resolvers.context import RequestContext
from resolvers.links import HCM, PSA, TIME, ResourceView
from resolvers.loaders import normal_key
from resolvers.people import billable_hours
from sources.errors import SourceError
from sources.records import Assignment, Project, PsaUser, StaffingRequest, TimeUser, Worker

UTILIZATION_DAYS = 28


async def list_requests(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None = None,
    practice: str | None = None,
) -> Window[StaffingRequest]:
    filters: dict[str, object] = {"status": status} if status else {}
    if practice:
        projects = await ctx.loaders.listing(PSA, "project", {"practice": practice})
        if not projects:
            return Window([], False, False, 0)
        filters["project_id"] = sorted(p.id for p in projects)
    fetch = ctx.loaders.pages(PSA, "staffing_request", filters)
    ahead = ctx.loaders.pages_ahead(PSA, "staffing_request", filters)
    found = await vendor_window(fetch, first, after, ctx.limits, ahead=ahead)
    return found.map(lambda record: cast(StaffingRequest, record))


async def candidates(
    ctx: RequestContext, request: StaffingRequest, first: int | None, today: date | None = None
) -> list[Candidate]:
    today = today or date.today()
    project = await links.by_id(ctx, PSA, "project", request.project_id, Project)
    start, end = window(request.start_date, project.end_date if project else None, today)
    workers = [cast(Worker, w) for w in await ctx.loaders.listing(HCM, "worker")]
    bookings = await bookings_by_worker(ctx)
    utilization = await recent_utilization(ctx, workers, today)
    ranked = rank(
        skills=request.skills,
        hours_per_week=request.hours_per_week,
        start=start,
        end=end,
        workers=workers,
        bookings=bookings,
        utilization=utilization,
    )
    return ranked[: page_size(first, ctx.limits)]


async def bookings_by_worker(ctx: RequestContext) -> dict[str, list[Assignment]]:
    """Every PSA participation, by the HCM worker booked (PSA users carry the worker id);
    built once per request."""

    async def build() -> dict[str, list[Assignment]]:
        users = await ctx.loaders.listing(PSA, "user")
        worker_of = {u.id: cast(PsaUser, u).employee_number for u in users}
        found: dict[str, list[Assignment]] = defaultdict(list)
        for record in await ctx.loaders.listing(PSA, "assignment"):
            assignment = cast(Assignment, record)
            worker_id = worker_of.get(assignment.user_id)
            if worker_id:
                found[worker_id].append(assignment)
        return found

    return await ctx.loaders.once(("bookings_by_worker",), build)


async def booking_conflicts(
    ctx: RequestContext, view: ResourceView, today: date | None = None
) -> list[BookingConflict]:
    if view.worker is None:
        return []
    bookings = await bookings_by_worker(ctx)
    return conflicts_of(view.worker, bookings.get(view.worker.id, []), today or date.today())


async def recent_utilization(
    ctx: RequestContext, workers: list[Worker], today: date
) -> dict[str, float | None]:
    """Billable approved hours over capacity in the four weeks before `today`, by worker
    id; worked out once per request."""
    return await ctx.loaders.once(
        ("recent_utilization", today), lambda: _recent_utilization(ctx, workers, today)
    )


async def _recent_utilization(
    ctx: RequestContext, workers: list[Worker], today: date
) -> dict[str, float | None]:
    start, end = today - timedelta(days=UTILIZATION_DAYS), today - timedelta(days=1)
    time_users = await ctx.loaders.index(TIME, "user", "email")
    pairs: list[tuple[Worker, TimeUser]] = []
    for worker in workers:
        user = time_users.get(normal_key(worker.email)) if worker.email else None
        if user is not None:
            pairs.append((worker, cast(TimeUser, user)))
    loader = billable_hours(ctx, start, end)
    hours = await loader.load_many([user.id for _, user in pairs])
    found: dict[str, float | None] = {w.id: 0.0 for w in workers}
    for (worker, _), worked in zip(pairs, hours, strict=True):
        if isinstance(worked, SourceError):
            found[worker.id] = None  # unknown, not idle: ranked with full headroom
            continue
        found[worker.id] = derived.utilization(worked, worker.weekly_capacity_hours, start, end)
    return found
