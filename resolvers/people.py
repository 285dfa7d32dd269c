"""Resources: the HCM worker merged with the PSA user and the TIME user."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from resolvers import derived, links
from resolvers.authority import Conflict
from resolvers.connections import Window, vendor_window
from resolvers.context import Report, RequestContext
from resolvers.errors import InvalidInputError
from resolvers.links import HCM, PSA, TIME, ResourceView
from resolvers.loaders import settle, settle_each, settled, shared
from resolvers.values import SystemRef, ref
from sources.errors import SourceError
from sources.records import Assignment, Record, TimeEntry, Worker

# Up to this many people, hours are read per person (Harvest filters by one user);
# beyond it, one team report of the date range serves everyone, or where the report does
# not carry approved hours (Harvest's own), one scan of the range's entries.
PER_PERSON_READS = 8
TEAM_HOURS = "approved_billable_hours"  # the TIME connector's team report
TEAM_HOURS_DEPEND_ON = frozenset({"time_entry"})


async def list_resources(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    practice: str | None = None,
    skill: str | None = None,
) -> Window[ResourceView]:
    filters = {name: value for name, value in (("practice", practice), ("skill", skill)) if value}

    fetch = ctx.loaders.pages(HCM, "worker", filters)
    ahead = ctx.loaders.pages_ahead(HCM, "worker", filters)
    window = await vendor_window(fetch, first, after, ctx.limits, ahead=ahead)
    ctx.loaders.listed(HCM, "worker", [worker for _, worker in window.edges])
    return window.map(lambda worker: ResourceView(worker.id, cast(Worker, worker)))


async def manager(ctx: RequestContext, view: ResourceView) -> ResourceView | None:
    return await links.resource(ctx, _manager_id(view))


def manager_if_read(ctx: RequestContext, view: ResourceView) -> tuple[bool, ResourceView | None]:
    """`manager(ctx, view)` without waiting, when this request has read the manager."""
    return links.resource_if_read(ctx, _manager_id(view))


async def read_managers(ctx: RequestContext, views: Iterable[ResourceView]) -> None:
    """The managers of a page of people, in one read for all of them, before the rows
    ask (`manager_if_read`)."""
    await links.read_by_id(ctx, HCM, "worker", map(_manager_id, views), Worker)


def _manager_id(view: ResourceView) -> str | None:
    return view.worker.manager_id if view.worker is not None else None


async def assignments(ctx: RequestContext, view: ResourceView) -> list[Assignment]:
    user = await links.psa_user(ctx, view)
    found = await links.children(
        ctx, PSA, "assignment", "user_id", user.id if user else None, Assignment
    )
    return sorted(found, key=lambda a: (a.start_date or date.min, a.id))


async def utilization(
    ctx: RequestContext, view: ResourceView, start: date, end: date
) -> float | None:
    """Billable approved hours in [start, end] over the worker's capacity."""
    _check_range(start, end)
    if view.worker is None:
        return None
    user = await links.time_user(ctx, view)
    if user is None:
        return 0.0
    hours = await billable_hours(ctx, start, end).load(user.id)
    return derived.utilization(hours, view.worker.weekly_capacity_hours, start, end)


def utilization_if_read(
    ctx: RequestContext, view: ResourceView, start: date, end: date
) -> tuple[bool, float | None]:
    """`utilization(...)` without waiting, when this request has read what it needs
    (`read_utilization`); (False, None) otherwise, or when a read failed."""
    _check_range(start, end)
    if view.worker is None:
        return True, None
    read, user = links.time_user_if_read(ctx, view)
    if not read:
        return False, None
    if user is None:
        return True, 0.0
    read, team = ctx.loaders.peek_aggregate_read(TIME, TEAM_HOURS, start, end)
    if read and team is not None:
        hours = team.get(user.id, 0.0)
    else:
        read, hours = ctx.loaders.peek_loaded(_billable_hours_identity(start, end), user.id)
        if not read:
            return False, None
    return True, derived.utilization(hours, view.worker.weekly_capacity_hours, start, end)


async def read_utilization(
    ctx: RequestContext, views: Iterable[ResourceView], start: date, end: date
) -> None:
    """What the utilization over [start, end] of a page of people needs, read for all
    of them (TIME's users, then everyone's hours in one batch), before the rows ask
    (`utilization_if_read`). A read that fails stays in its loader for the rows to see."""
    if end < start:
        return  # each row refuses the range itself
    users = links.time_users_by_email(ctx)
    await links.settle_all([users])
    read, index = settled(users)
    if not read:
        return
    people = (links.time_user_in(index, view) for view in views if view.worker is not None)
    user_ids = {user.id for user in people if user is not None}
    if len(user_ids) > PER_PERSON_READS:
        team = _team_hours(ctx, start, end)
        await links.settle_all([team])
        read, hours = settled(team)
        if read and hours is not None:
            return  # each row finds its hours in the report, no loader between
    loader = billable_hours(ctx, start, end)
    await links.settle_all([loader.load(user_id) for user_id in user_ids])


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidInputError(f"utilization: to ({end}) is before from ({start})")


def start_utilization_reads(ctx: RequestContext, start: date, end: date, rows: int) -> None:
    """Start the TIME reads utilization over [start, end] needs for a page of `rows`
    people before the page is read, since none depends on a row: the users' listing and,
    beyond PER_PERSON_READS people, the range's team report. (A page that turns out to
    hold fewer people reads per person, and the report was for nothing. A report without
    approved hours is followed by the scans, a level later.)"""
    links.time_users_by_email(ctx)
    if rows > PER_PERSON_READS:
        _team_hours(ctx, start, end)


def _team_hours(ctx: RequestContext, start: date, end: date) -> asyncio.Future[Any]:
    """The request's read of approved billable hours per TIME user in [start, end] from
    the team report (None when the report does not carry them), started now if it has
    not been."""
    return ctx.loaders.aggregate_read(TIME, TEAM_HOURS, start, end, depends_on=TEAM_HOURS_DEPEND_ON)


def _scans(start: date, end: date) -> list[dict[str, Any]]:
    """Approved time in [start, end], billed or not: Harvest filters one status at a
    time, so one scan of the range per status."""
    return [
        {"from": start, "to": end, "status": status} for status in sorted(derived.BILLED_STATUSES)
    ]


def billable_hours(ctx: RequestContext, start: date, end: date) -> Any:
    """The request's loader of billable approved hours in [start, end] by TIME user id."""
    window = {"from": start, "to": end}

    async def batch(user_ids: list[str]) -> list[Any]:
        if len(user_ids) <= PER_PERSON_READS:
            groups = await ctx.loaders.upstream.children(
                TIME,
                "time_entry",
                "user_id",
                user_ids,
                window,
                batchable=False,
                observe=ctx.freshness.observe,
            )
            return [g if isinstance(g, SourceError) else _billable(g) for g in groups]
        try:
            team = await shared(_team_hours(ctx, start, end))
        except SourceError as error:
            return [error for _ in user_ids]
        if team is not None:
            return [team.get(user_id, 0.0) for user_id in user_ids]
        try:
            scans = await settle(
                *(ctx.loaders.listing(TIME, "time_entry", scan) for scan in _scans(start, end))
            )
        except SourceError as error:
            return [error for _ in user_ids]
        by_user: dict[str, list[Record]] = defaultdict(list)
        for entry in (entry for scan in scans for entry in scan):
            by_user[cast(TimeEntry, entry).user_id].append(entry)
        return [_billable(by_user.get(user_id, [])) for user_id in user_ids]

    return ctx.loaders.loader(_billable_hours_identity(start, end), batch)


def _billable_hours_identity(start: date, end: date) -> tuple[str, date, date]:
    return ("billable_hours", start, end)


def _billable(entries: list[Record]) -> float:
    return sum(
        e.hours
        for e in entries
        if isinstance(e, TimeEntry) and e.billable and e.status in derived.BILLED_STATUSES
    )


async def system_refs(ctx: RequestContext, view: ResourceView, report: Report) -> list[SystemRef]:
    refs = [ref(HCM, view.worker)] if view.worker is not None else []
    found = await settle_each(links.psa_user(ctx, view), links.time_user(ctx, view))
    for system, record in zip((PSA, TIME), found, strict=True):
        if isinstance(record, SourceError):
            report(record)
        elif record is not None:
            refs.append(ref(system, record))
    return refs


async def conflicts(ctx: RequestContext, view: ResourceView) -> list[Conflict]:
    if view.worker is None:
        return []
    user, time_user = await settle(links.psa_user(ctx, view), links.time_user(ctx, view))
    found: list[Conflict] = []
    for field, attribute in (("name", "name"), ("email", "email")):
        values: dict[Any, Any] = {HCM: getattr(view.worker, attribute)}
        if user is not None:
            values[PSA] = getattr(user, attribute)
        if time_user is not None:
            values[TIME] = getattr(time_user, attribute)
        found.extend(ctx.authority.conflicts("resource", field, values))
    return found
