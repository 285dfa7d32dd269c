"""The TIME connector: Harvest API v2 time entries, expenses, users and projects."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import itertools
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import quote, urlencode

import httpx
import orjson

from sources.config import SourceSettings
from sources.connector import ChangeSet, Connector, Page, RestInParts, record_type
from sources.errors import SourceDataError, SourceRejected
from sources.http import SourceClient
from sources.memo import RecordMemo
from sources.records import Expense, Record, SourceSystem, TimeEntry, TimeProject, TimeUser
from sources.time.auth import HarvestAuth
from sources.time.change_cursor import ChangeCursor
from sources.time.errors import classify_harvest
from sources.time.harvest import API_PREFIX, MAX_PER_PAGE, RESOURCES
from sources.time.listed import decode_page, record_from_raw
from sources.time.mapping import iso_utc, list_params, to_record
from sources.time.paging import (
    MAX_PARTS,
    NEWEST_FIRST,
    PART_FILL,
    NextLinkPager,
    check_cursor,
    day_ranges,
)
from sources.time.snapshot import SnapshotCache, pages_for
from sources.time.summary import ProjectSummaries, ProjectTimeSummary, decode_report_page
from sources.time.team_hours import approved_billable_hours, decode_team_page

T = TypeVar("T")

REFERENCE_ENTITIES = ("user", "project")  # read by id through a snapshot
DEFAULT_REFERENCE_TTL = 300.0
# Records remembered per entity (~1.7 KB each, and its object's JSON, 0.3 to 0.8 KB, as
# its key; ~2.5 KB in all): a month of a large firm's time entries (approved and
# invoiced: two listings) and what the exceptions monitor reads on every scan, all the
# approved ones (28,000 in the test world; a memo smaller than a listing read in turn
# keeps none of it), and every user and project.
REMEMBERED = {"time_entry": 50_000, "expense": 5_000, "user": 5_000, "project": 5_000}
REFERENCE_GROUP = "psgraph"  # external_reference.group_id of entries this connector creates


class TimeConnector(Connector):
    """Harvest v2: `time_entry` -> TimeEntry, `expense` -> Expense, `user` -> TimeUser,
    `project` -> TimeProject.

    Credentials: `token` (a personal access token or OAuth access token) and
    `account_id` (sent as `Harvest-Account-Id`); `base_url` is the host root
    (`https://api.harvestapp.com`), the connector adds `/v2`.

    Reading by id. Harvest has no id-list filter, so:

    - users and projects come from a reference snapshot: every record, paged at 2,000,
      kept for the entity's TTL (`cache_ttl[entity]`, 300 s by default; 0 keeps none).
      A get_many of n ids costs ceil(total / 2000) requests, and none within the TTL;
      once the population is known, a read of fewer ids than that fans out instead, so
      `request_bound` is min(n, ceil(total / 2000)).
    - time entries and expenses are fanned out, one `GET /time_entries/{id}` per distinct
      id, at most `settings.concurrency` in flight: a get_many of n ids costs n requests.

    Listing follows `links.next` (the cursor is its query string); `Page.total` is
    Harvest's `total_entries`. Changes use `updated_since` (see `ChangeCursor`).
    `project_summaries` reads the two project reports: one request each per 2,000
    projects; `approved_billable_hours` the team report, one request per 2,000 users
    (none once the report has shown it lacks the figure). Writes: `create_time_entry`
    looks before it creates (Harvest has no idempotency key) and never retries its
    POST; `approve` and `mark_billed` are idempotent PATCHes.

    Harvest allows 100 requests per 15 s per token (its reports API, 100 per 15 min);
    the source client waits out a 429's Retry-After within its retry policy and the
    call's total timeout.
    """

    system: ClassVar[SourceSystem] = SourceSystem.TIME
    entities: ClassVar[Mapping[str, type[Record]]] = {
        "time_entry": TimeEntry,
        "expense": Expense,
        "user": TimeUser,
        "project": TimeProject,
    }
    batch_limit: ClassVar[int] = MAX_PER_PAGE

    def __init__(
        self,
        settings: SourceSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        credentials = settings.credentials
        if credentials.token is None or not credentials.account_id:
            raise ValueError(
                "TIME needs credentials.token and credentials.account_id (Harvest-Account-Id)"
            )
        self.settings = settings
        self._client = SourceClient(
            self.system,
            settings,
            auth=HarvestAuth(credentials.token.get_secret_value(), credentials.account_id),
            classify=classify_harvest,
            transport=transport,
        )
        self._per_page = min(settings.batch_size or MAX_PER_PAGE, MAX_PER_PAGE)
        self._snapshots = {
            entity: SnapshotCache(settings.cache_ttl.get(entity, DEFAULT_REFERENCE_TTL), clock)
            for entity in REFERENCE_ENTITIES
        }
        # A listed object seen before gives back the record made from it (sources.memo),
        # known by its raw bytes (sources.time.listed).
        self._remembered = {
            entity: RecordMemo(partial(record_from_raw, entity), size, key=bytes)
            for entity, size in REMEMBERED.items()
        }
        self._team_report_approves = True  # until a team report shows it does not

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> TimeConnector:
        return self

    # --- reads ------------------------------------------------------------------------

    def request_bound(self, entity: str, n_ids: int, total: int) -> int:
        """Most requests a get_many of `n_ids` distinct ids may cost, for an entity of
        `total` records: min(n, ceil(total / 2000)) for users and projects, n otherwise."""
        record_type(self, entity)
        if n_ids <= 0:
            return 0
        if entity in REFERENCE_ENTITIES:
            return min(n_ids, pages_for(total, self._per_page))
        return n_ids

    async def get_many(self, entity: str, ids: Sequence[str]) -> list[Record | None]:
        record_type(self, entity)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        if entity in REFERENCE_ENTITIES:
            found = await self._from_reference(entity, wanted)
        else:
            found = await self._fan_out(entity, wanted)
        return [found.get(record_id) for record_id in ids]

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        """One page. Without a cursor, `filters` (see `sources.time.mapping.FILTERS`)
        and `page_size` (Harvest's per_page: above 2000 it answers 422) start a listing;
        with one, they are already in it."""
        record_type(self, entity)
        path = self._path(entity)
        if cursor is None:
            params = {**list_params(entity, filters or {}), "per_page": str(page_size)}
            body = await self._get(path, params, _raw_page(entity))
        else:
            body = await self._get(f"{path}?{check_cursor(cursor)}", decode=_raw_page(entity))
        items = list(map(self._remembered[entity], _items(body, RESOURCES[entity])))
        return Page(items, NextLinkPager().advance(body), _total(body))

    def rest_in_parts(
        self, entity: str, filters: Mapping[str, Any] | None, first: Page[Record]
    ) -> RestInParts[Record] | None:
        """After a range's first page, the days from `from` to the page's last day, cut
        into about a page each by what the page's total says is left (`day_ranges`).
        The page's last day may go on past it, so that day is read again whole and the
        page keeps only the days after it."""
        given = dict(filters or {})
        start = given.get("from")
        if not isinstance(start, dt.date) or entity not in NEWEST_FIRST:
            return None
        if not first.items or first.total is None:
            return None
        days = [cast(TimeEntry | Expense, item).date for item in first.items]
        if any(newer < older for newer, older in itertools.pairwise(days)):
            return None  # not newest first after all: only the cursor is safe
        last, size = days[-1], len(first.items)
        if last < start or first.total - size <= size:
            return None  # the cursor's next page is the last
        kept = [item for item, day in zip(first.items, days, strict=True) if day > last]
        parts = math.ceil((first.total - len(kept)) / (size * PART_FILL))
        cursors = [
            urlencode(
                {
                    **list_params(entity, {**given, "from": a, "to": b}),
                    "per_page": str(size),
                }
            )
            for a, b in day_ranges(start, last, min(parts, MAX_PARTS))
        ]
        return RestInParts(kept, cursors)

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        record_type(self, entity)
        if cursor is None:
            return ChangeSet([], ChangeCursor.now().encode())
        start = ChangeCursor.decode(cursor)
        since = {"updated_since": iso_utc(start.query_since)}
        latest: dict[str, Record] = {}
        async for record in self._every(entity, since):
            if start.is_new(record):
                latest[record.id] = record
        records = list(latest.values())
        return ChangeSet(records, start.advance(records).encode())

    # --- aggregates -------------------------------------------------------------------

    async def project_summaries(
        self, date_from: dt.date, date_to: dt.date
    ) -> Mapping[str, ProjectTimeSummary]:
        """Hours and amounts per TIME project id for spent dates in [date_from, date_to],
        from the time and uninvoiced reports (two requests per 2,000 projects). Projects
        with neither time nor uninvoiced expenses in the range are absent; a project whose
        report row is malformed raises SourceDataError when it is looked up."""
        params = _report_range(date_from, date_to)
        time_rows, open_rows = await _gather(
            self._report(f"{API_PREFIX}/reports/time/projects", params),
            self._report(f"{API_PREFIX}/reports/uninvoiced", params),
        )
        return ProjectSummaries(time_rows, open_rows)

    async def approved_billable_hours(
        self, date_from: dt.date, date_to: dt.date
    ) -> Mapping[str, float] | None:
        """Billable hours approved or billed, spent in [date_from, date_to], per TIME user
        id (absent: none), from the team report; None when the report does not carry
        them (Harvest's own), after which it is not asked again: the caller reads the
        entries."""
        if not self._team_report_approves:
            return None
        params = _report_range(date_from, date_to)
        rows = await self._report(f"{API_PREFIX}/reports/time/team", params, decode_team_page)
        hours = approved_billable_hours(rows)
        if hours is None:
            self._team_report_approves = False
        return hours

    # --- writes -----------------------------------------------------------------------

    async def create_time_entry(
        self,
        user_id: str,
        project_id: str,
        spent_date: dt.date,
        hours: float,
        billable: bool,
        notes: str | None,
        *,
        external_reference: str,
    ) -> TimeEntry:
        """The entry carrying `external_reference`, created if there is none yet.

        Harvest has no idempotency key: look up by `external_reference_id` first, then
        POST once (never retried; after an unknown outcome, calling again looks first)."""
        existing = await self.find_by_external_reference(external_reference)
        if existing is not None:
            return existing
        payload = {
            "user_id": _wire_id(user_id),
            "project_id": _wire_id(project_id),
            "spent_date": spent_date.isoformat(),
            "hours": hours,
            "billable": billable,
            "notes": notes,
            "external_reference": {"id": external_reference, "group_id": REFERENCE_GROUP},
        }
        response = await self._client.request(
            "POST", self._path("time_entry"), json=payload, idempotent=False
        )
        return self._time_entry(self._client.parse_json(response))

    async def find_by_external_reference(self, external_reference: str) -> TimeEntry | None:
        """The first-created entry with this external reference, if any."""
        params = {"external_reference_id": external_reference, "per_page": str(MAX_PER_PAGE)}
        matches: builtins.list[TimeEntry] = []
        async for record in self._every("time_entry", params):
            if isinstance(record, TimeEntry) and record.external_reference == external_reference:
                matches.append(record)
        return min(matches, key=lambda entry: _id_order(entry.id), default=None)

    async def approve(self, ids: Sequence[str]) -> builtins.list[TimeEntry]:
        """Approve each entry (Harvest's approval workflow); approving an approved or
        invoiced entry changes nothing. Aligned with `ids`."""
        entries = await self._patch_each(ids, {"approval_status": "approved"})
        for entry in entries:
            if entry.status not in ("APPROVED", "INVOICED"):
                raise SourceRejected(
                    self.system, f"time entry {entry.id} was not approved", status=200
                )
        return entries

    async def mark_billed(
        self, ids: Sequence[str], invoice_id: str, invoice_number: str
    ) -> builtins.list[TimeEntry]:
        """Mark approved entries billed on an invoice; repeating it changes nothing.
        Aligned with `ids`."""
        invoice = {"id": _wire_id(invoice_id), "number": invoice_number}
        entries = await self._patch_each(ids, {"is_billed": True, "invoice": invoice})
        for entry in entries:
            if not entry.is_billed:
                raise SourceRejected(
                    self.system, f"time entry {entry.id} was not marked billed", status=200
                )
        return entries

    # --- plumbing ---------------------------------------------------------------------

    def _path(self, entity: str) -> str:
        return f"{API_PREFIX}/{RESOURCES[entity]}"

    async def _get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        decode: Callable[[bytes], Any] = orjson.loads,
    ) -> Any:
        """The object at `url`, parsed by `decode`."""
        response = await self._client.request("GET", url, params=params)
        body = self._client.parse_json(response, decode)
        if not isinstance(body, dict):
            raise SourceDataError(self.system, f"expected an object from {url}")
        return body

    async def _pages(
        self,
        path: str,
        params: Mapping[str, str],
        decode: Callable[[bytes], Any] = orjson.loads,
    ) -> AsyncIterator[Any]:
        pager = NextLinkPager()
        body = await self._get(path, params, decode)
        while True:
            yield body
            query = pager.advance(body)
            if query is None:
                return
            body = await self._get(f"{path}?{query}", decode=decode)

    async def _report(
        self,
        path: str,
        params: Mapping[str, str],
        decode: Callable[[bytes], Any] = decode_report_page,
    ) -> builtins.list[Any]:
        rows: builtins.list[Any] = []
        full = {**params, "per_page": str(MAX_PER_PAGE)}
        async for body in self._pages(path, full, decode):
            rows.extend(_items(body, "results"))
        return rows

    async def _every(self, entity: str, params: Mapping[str, str]) -> AsyncIterator[Record]:
        full = {**params, "per_page": str(self._per_page)}
        async for body in self._pages(self._path(entity), full, _raw_page(entity)):
            for item in _items(body, RESOURCES[entity]):
                yield self._remembered[entity](item)

    async def _from_reference(self, entity: str, ids: builtins.list[str]) -> dict[str, Record]:
        cache = self._snapshots[entity]
        snapshot = cache.fresh()
        if snapshot is None and cache.total is not None:
            if len(ids) < pages_for(cache.total, self._per_page):
                return await self._fan_out(entity, ids)
        if snapshot is None:
            async with cache.lock:
                snapshot = cache.fresh()
                if snapshot is None:
                    records = {r.id: r async for r in self._every(entity, {})}
                    snapshot = cache.store(records)
        return snapshot.records

    async def _fan_out(self, entity: str, ids: builtins.list[str]) -> dict[str, Record]:
        path = self._path(entity)

        async def one(record_id: str) -> Record | None:
            try:
                body = await self._get(f"{path}/{quote(record_id, safe='')}")
            except SourceRejected as error:
                if error.status == 404:
                    return None
                raise
            return to_record(entity, body)

        found = await _gather(*(one(record_id) for record_id in ids))
        return {record.id: record for record in found if record is not None}

    async def _patch_each(
        self, ids: Sequence[str], changes: Mapping[str, Any]
    ) -> builtins.list[TimeEntry]:
        path = self._path("time_entry")

        async def one(entry_id: str) -> TimeEntry:
            response = await self._client.request(
                "PATCH", f"{path}/{quote(entry_id, safe='')}", json=changes, idempotent=True
            )
            return self._time_entry(self._client.parse_json(response))

        distinct = list(dict.fromkeys(ids))
        entries = dict(zip(distinct, await _gather(*map(one, distinct)), strict=True))
        return [entries[entry_id] for entry_id in ids]

    def _time_entry(self, body: Any) -> TimeEntry:
        record = to_record("time_entry", body)
        assert isinstance(record, TimeEntry)  # to_record("time_entry") maps to TimeEntry
        return record


async def _gather(*calls: Coroutine[Any, Any, T]) -> list[T]:
    """All results in order; on the first failure the rest are cancelled, not leaked,
    and that failure is raised as itself (not wrapped in an exception group)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


def _raw_page(entity: str) -> Callable[[bytes], Any]:
    """The decoder of a page of `entity`, its objects kept raw (`sources.time.listed`)."""
    return partial(decode_page, entity)


def _report_range(date_from: dt.date, date_to: dt.date) -> dict[str, str]:
    """A report's range, in the reports API's YYYYMMDD."""
    return {"from": date_from.strftime("%Y%m%d"), "to": date_to.strftime("%Y%m%d")}


def _items(body: Mapping[str, Any], key: str) -> list[Any]:
    items = body.get(key)
    if not isinstance(items, list):
        raise SourceDataError(SourceSystem.TIME, f"expected a list under {key!r}")
    return items


def _total(body: Mapping[str, Any]) -> int | None:
    total = body.get("total_entries")
    return total if isinstance(total, int) else None


def _wire_id(native: str) -> int | str:
    return int(native) if native.isdigit() else native


def _id_order(native: str) -> tuple[int, int | str]:
    return (0, int(native)) if native.isdigit() else (1, native)


CONNECTOR = TimeConnector
