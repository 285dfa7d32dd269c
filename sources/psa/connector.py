"""The PSA connector: Kantata OX's API, answered in canonical records.

Reads batch by id with `only=` (200 ids a request), list by page number, and follow
changes through the subscribed-events pull feed. Kantata has no idempotency keys, so each
write looks before it creates, by the external reference it carries (and the gateway runs
one workflow step per reference at a time, so two lookers do not race).
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec

from sources.config import SourceSettings
from sources.connector import ChangeSet, Connector, Page
from sources.errors import SourceDataError, SourceRejected
from sources.http import SourceClient
from sources.memo import PER_ENTITY, RecordMemo
from sources.psa import SYSTEM, mapping
from sources.psa.client import BearerAuth, classify
from sources.psa.cursors import FeedCursor, PagePosition
from sources.psa.endpoints import ENDPOINTS, Endpoint, chunks, endpoint
from sources.psa.envelope import Envelope, MalformedEnvelopeError, Row, parse_envelope
from sources.records import (
    Assignment,
    Milestone,
    Project,
    PsaUser,
    Record,
    SourceSystem,
    StaffingRequest,
)

MAX_PAGE_SIZE = SYSTEM.page_max
# Kantata's events can arrive minutes late: every change scan looks this far back.
FEED_OVERLAP = dt.timedelta(minutes=15)
FEED_PATH = "/api/v1/subscribed_events"
KANTATA_APP = "https://app.mavenlink.com"

RowReader = Callable[[str, Row], Record | None]  # where deep links point, and a row
R = TypeVar("R", bound=Record)


def web_base(base_url: str) -> str:
    """Where deep links point: Kantata's app for the real API, the server itself otherwise."""
    host = httpx.URL(base_url).host
    if host.endswith(("mavenlink.com", "kantata.com")):
        return KANTATA_APP
    return base_url.rstrip("/")


# Readers of records that depend on their row alone; a milestone's also reads its
# workspace's row from the envelope (`PsaConnector._read`).
ROW_READERS: Mapping[str, RowReader] = {
    "project": lambda web, raw: mapping.project_from(raw, web_base=web),
    "assignment": lambda web, raw: mapping.assignment_from(raw),
    "staffing_request": lambda web, raw: mapping.staffing_request_from(raw),
    "user": lambda web, raw: mapping.user_from(raw),
}


class PsaConnector(Connector):
    system = SourceSystem.PSA
    entities: ClassVar[Mapping[str, type[Record]]] = {
        "project": Project,
        "milestone": Milestone,
        "assignment": Assignment,
        "staffing_request": StaffingRequest,
        "user": PsaUser,
    }
    batch_limit = SYSTEM.batch_max

    def __init__(
        self,
        settings: SourceSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        feed_overlap: dt.timedelta = FEED_OVERLAP,
    ) -> None:
        token = settings.credentials.token
        if token is None:
            raise ValueError("the PSA connector needs credentials.token")
        self._client = SourceClient(
            self.system,
            settings,
            auth=BearerAuth(token.get_secret_value()),
            classify=classify,
            transport=transport,
        )
        self._batch = min(settings.batch_size or self.batch_limit, self.batch_limit)
        self._web = web_base(settings.base_url)
        self._overlap = feed_overlap
        # A row seen before, byte for byte, gives back the record made from it (see
        # sources.memo); rows come as the vendor's bytes (sources.psa.envelope).
        self._remembered = {
            entity: RecordMemo(partial(_parsed, read, self._web), PER_ENTITY, key=bytes)
            for entity, read in ROW_READERS.items()
        }

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- reads -----------------------------------------------------------------------

    async def get_many(self, entity: str, ids: Sequence[str]) -> builtins.list[Record | None]:
        """Records aligned with `ids`, None where Kantata has none; 200 ids a request."""
        target = endpoint(entity)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        answers = await asyncio.gather(
            *(
                self._all_pages(target.path, {**target.scope, "only": ",".join(chunk)}, len(chunk))
                for chunk in chunks(wanted, self._batch)
            )
        )
        found = {
            record.id: record
            for pages in answers
            for env in pages
            for record in self._read(entity, target, env)
        }
        return [found.get(str(i)) for i in ids]

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        """One page; filters: project {status, search, crm_account_id, crm_opportunity_id,
        erp_job_id, code, practice, region}, milestone {project_id}, assignment {project_id,
        user_id}, staffing_request {project_id, status, assigned_user_id, external_ref},
        user {search}. Id filters take one id or a list."""
        target = endpoint(entity)
        queries = target.queries(filters or {}, self._batch)
        if not queries:
            return Page(items=[], next_cursor=None, total=0)
        position = PagePosition.decode(cursor)
        if position.chunk >= len(queries):
            raise ValueError(f"PSA page cursor {cursor!r} is past the end")
        per_page = max(1, min(page_size, MAX_PAGE_SIZE))
        params = {**queries[position.chunk], "page": str(position.page), "per_page": str(per_page)}
        env = await self._get(target.path, params)
        following = position.after(has_more=env.has_more, chunks=len(queries))
        return Page(
            items=self._read(entity, target, env),
            next_cursor=following.encode() if following else None,
            total=env.count if len(queries) == 1 else None,
            following=position.rest_of_chunk(env.page_count),
        )

    def pages_after(
        self,
        entity: str,
        filters: Mapping[str, Any] | None,
        cursor: str | None,
        *,
        page_size: int,
        count: int,
    ) -> Sequence[str]:
        """Kantata numbers its pages: the next ones of the same chunk (a listing whose
        id filter is split into chunks names none beyond its chunk)."""
        position = PagePosition.decode(cursor)
        return position.rest_of_chunk(position.page + count)[:]

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        """What changed since `cursor`, from the subscribed-events feed (deduplicated;
        late events inside the look-back window are still caught)."""
        target = endpoint(entity)
        now = dt.datetime.now(dt.UTC)
        start = FeedCursor(now) if cursor is None else FeedCursor.decode(cursor)
        events = await self._events(target, start.window_start(self._overlap))
        try:
            if cursor is None:
                begun = FeedCursor.begin(events, now, self._overlap)
                return ChangeSet(records=[], cursor=begun.encode())
            fresh, after = start.advance(events, self._overlap)
            latest = _last_event_per_subject(fresh)
        except (KeyError, TypeError, ValueError) as error:
            raise SourceDataError(self.system, f"unreadable subscribed event: {error}") from error
        deleted = [s for s, kind in latest.items() if kind.endswith(":deleted")]
        alive = [s for s, kind in latest.items() if not kind.endswith(":deleted")]
        records = [r for r in await self.get_many(entity, alive) if r is not None]
        return ChangeSet(records=records, cursor=after.encode(), deleted_ids=deleted)

    # --- writes ----------------------------------------------------------------------

    async def create_workspace(
        self, fields: Mapping[str, Any], *, crm_opportunity_id: str
    ) -> Project:
        """The workspace for this CRM opportunity, created from canonical `Project` fields
        only if none exists yet (an existing one is returned as it is)."""
        if fields.get("crm_opportunity_id", crm_opportunity_id) != crm_opportunity_id:
            raise ValueError("fields name a different crm_opportunity_id")
        existing = await self._first("project", {"crm_opportunity_id": crm_opportunity_id})
        if existing is not None:
            return _as(Project, existing)
        attributes = {
            **mapping.workspace_attributes(fields),
            "crm_opportunity_id": crm_opportunity_id,
        }
        return _as(Project, await self._create("project", attributes))

    async def update_workspace(self, workspace_id: str, fields: Mapping[str, Any]) -> Project:
        """Write canonical `Project` fields onto the workspace."""
        attributes = mapping.workspace_attributes(fields)
        return _as(Project, await self._update("project", workspace_id, attributes))

    async def set_workspace_finance_code(self, workspace_id: str, erp_job_id: str) -> Project:
        return await self.update_workspace(workspace_id, {"erp_job_id": erp_job_id})

    async def create_staffing_request(
        self,
        project_id: str,
        role: str,
        skills: Sequence[str],
        hours_per_week: float | None,
        start_date: dt.date | None,
        *,
        external_ref: str,
    ) -> StaffingRequest:
        """The workspace's resource request with this external reference, created only if
        the workspace has none yet."""
        found = await self._first(
            "staffing_request", {"project_id": project_id, "external_ref": external_ref}
        )
        if found is not None:
            return _as(StaffingRequest, found)
        attributes = mapping.resource_request_attributes(
            project_id=project_id,
            role=role,
            skills=skills,
            hours_per_week=hours_per_week,
            start_date=start_date,
            external_ref=external_ref,
        )
        return _as(StaffingRequest, await self._create("staffing_request", attributes))

    async def book(
        self,
        project_id: str,
        user_id: str,
        *,
        role: str | None,
        hours_per_week: float | None,
        start_date: dt.date | None,
        end_date: dt.date | None,
    ) -> Assignment:
        """The person's participation in the workspace, created only if they have none:
        a participation is a person's one membership of a workspace, so it is its own
        look-before-create key."""
        found = await self._first("assignment", {"project_id": project_id, "user_id": user_id})
        if found is not None:
            return _as(Assignment, found)
        attributes = mapping.participation_attributes(
            project_id=project_id,
            user_id=user_id,
            role=role,
            hours_per_week=hours_per_week,
            start_date=start_date,
            end_date=end_date,
        )
        return _as(Assignment, await self._create("assignment", attributes))

    async def fill_staffing_request(self, request_id: str, user_id: str) -> StaffingRequest:
        """Mark the resource request filled by this person (again: the same answer)."""
        attributes = {"status": "filled", "assigned_user_id": user_id}
        return _as(StaffingRequest, await self._update("staffing_request", request_id, attributes))

    async def complete_milestone(self, milestone_id: str) -> Milestone:
        """Mark the milestone story completed; one already completed (or billed) is
        returned unchanged."""
        target = ENDPOINTS["milestone"]
        params = {"include": target.scope["include"]}
        env = await self._get(target.member_path(milestone_id), params)
        current = self._read("milestone", target, env)
        if not current:
            raise SourceRejected(
                self.system, f"story {milestone_id} is not a milestone", status=422
            )
        milestone = _as(Milestone, current[0])
        if milestone.status != "OPEN":
            return milestone
        return _as(Milestone, await self._update("milestone", milestone_id, {"state": "completed"}))

    # --- plumbing --------------------------------------------------------------------

    async def _first(self, entity: str, filters: Mapping[str, Any]) -> Record | None:
        page = await self.list(entity, filters, page_size=1)
        return page.items[0] if page.items else None

    async def _create(self, entity: str, attributes: Mapping[str, Any]) -> Record:
        target = ENDPOINTS[entity]
        body = {target.key: [dict(attributes)]}
        env = await self._send("POST", target.path, params=_includes(target), json=body)
        return self._only(entity, target, env)

    async def _update(self, entity: str, record_id: str, attributes: Mapping[str, Any]) -> Record:
        target = ENDPOINTS[entity]
        body = {target.singular: dict(attributes)}
        path = target.member_path(record_id)
        env = await self._send("PUT", path, params=_includes(target), json=body)
        return self._only(entity, target, env)

    def _only(self, entity: str, target: Endpoint, env: Envelope) -> Record:
        records = self._read(entity, target, env)
        if len(records) != 1:
            raise SourceDataError(
                self.system, f"expected one {target.singular}, got {len(records)}"
            )
        return records[0]

    async def _events(self, target: Endpoint, after: dt.datetime) -> builtins.list[Row]:
        params = {"created_after": after.isoformat(), "event_types": target.event_types()}
        pages = await self._all_pages(FEED_PATH, params, MAX_PAGE_SIZE)
        return [event for env in pages for event in env.rows("subscribed_events")]

    async def _all_pages(
        self, path: str, params: Mapping[str, str], per_page: int
    ) -> builtins.list[Envelope]:
        query = {**params, "per_page": str(per_page)}
        pages = [await self._get(path, {**query, "page": "1"})]
        while pages[-1].has_more:
            pages.append(await self._get(path, {**query, "page": str(pages[-1].page_number + 1)}))
        return pages

    async def _get(self, path: str, params: Mapping[str, str]) -> Envelope:
        return await self._send("GET", path, params=params)

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, str], json: Any = None
    ) -> Envelope:
        response = await self._client.request(method, path, params=params, json=json)
        try:
            return parse_envelope(response.content)
        except MalformedEnvelopeError as error:
            raise SourceDataError(self.system, f"{method} {path}: {error}") from error

    def _read(self, entity: str, target: Endpoint, env: Envelope) -> builtins.list[Record]:
        remembered = self._remembered.get(entity)
        read: Callable[[msgspec.Raw], Record | None] = (
            remembered if remembered is not None else partial(_milestone, env=env, web=self._web)
        )
        records = []
        for record_id, raw in env.answer(target.key):
            try:
                record = read(raw)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceDataError(
                    self.system, f"unreadable {target.singular} {record_id!r}: {error}"
                ) from error
            if record is not None:
                records.append(record)
        return records


def _parsed(read: RowReader, web: str, raw: msgspec.Raw) -> Record | None:
    return read(web, msgspec.json.decode(raw))


def _milestone(raw: msgspec.Raw, env: Envelope, web: str) -> Record | None:
    row = msgspec.json.decode(raw)
    workspace = env.lookup("workspaces", row.get("workspace_id"))
    return mapping.milestone_from(row, workspace=workspace, web_base=web)


def _last_event_per_subject(events: Sequence[Row]) -> dict[str, str]:
    """Subject id -> the type of its last event, subjects in the order they last changed."""
    latest: dict[str, str] = {}
    for event in events:
        subject = str(event["subject_id"])
        latest.pop(subject, None)
        latest[subject] = str(event["event_type"])
    return latest


def _includes(target: Endpoint) -> dict[str, str]:
    return {"include": target.scope["include"]} if "include" in target.scope else {}


def _as(kind: type[R], record: Record) -> R:
    if not isinstance(record, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(record).__name__}")
    return record


CONNECTOR = PsaConnector
