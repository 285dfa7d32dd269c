"""A Kantata OX-shaped PSA server over the generated world.

Vendor routes, all under /api/v1 with a bearer token:

- `GET  /{type}.json` for workspaces, stories, participations, resource_requests, users:
  `only=1,2,3`, filters, `include=`, `page`/`per_page` (default 20, at most 200), answered
  in Kantata's envelope `{count, results:[{key,id}], <type>:{id: record}, meta}`;
- `GET  /{type}/{id}.json`; `POST /{type}.json` with `{"<type>": [...]}`;
  `PUT  /{type}/{id}.json` with `{"<singular>": {...}}` (users are read-only);
- `GET  /subscribed_events`: the pull feed of changes (`created_after`, `event_types`,
  `include=subject`), a week of history.

Errors come as `{"errors": [{"type", "message"}]}`. Past a per-token request rate (100/s
unless `POST /_sandbox/rate_limit {"per_s": n}` says otherwise) the answer is 429 with no
Retry-After, as Kantata documents none. `POST /_sandbox/event_feed {"hold": true}` makes
the feed deliver late until `{"release": true}`.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandboxes.base import Sandbox
from sandboxes.psa.events import EventLog
from sandboxes.psa.query import BadRequestError, Paging, envelope, paging, render, select
from sandboxes.psa.seed import seed_tables
from sandboxes.psa.tables import STATUS_BY_KEY, InvalidValueError, Row, Table, stamp
from sandboxes.responses import JSONResponse
from sandboxes.world.model import World
from sources.records import SourceSystem

API = "/api/v1"
ACCOUNT_ID = "7001"
DEFAULT_RATE_LIMIT_PER_S = 100.0
ENTITY_TABLES = {
    "project": "workspaces",
    "milestone": "stories",
    "assignment": "participations",
    "staffing_request": "resource_requests",
    "user": "users",
}
READ_ONLY = frozenset({"users"})
ERROR_TYPES = {
    "INVALID_AUTH": "authentication",
    "RATE_LIMITED": "rate_limit",
    "NOT_FOUND": "not_found",
    "INVALID": "validation",
    "BAD_REQUEST": "argument",
}
EVENT_PARAMS = frozenset({"created_after", "created_before", "event_types", "include"})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass
class _Window:
    started: float = 0.0
    count: int = 0


class PsaSandbox(Sandbox):
    system = SourceSystem.PSA
    name = "psa"
    title = "Kantata OX-shaped PSA"

    def seed(self, world: World) -> None:
        self.tables = seed_tables(world)
        self.events = EventLog(account_id=ACCOUNT_ID)
        self.rate_limit_per_s: float | None = DEFAULT_RATE_LIMIT_PER_S
        self._windows: dict[str, _Window] = {}

    # --- the vendor surface ----------------------------------------------------------

    def vendor_routes(self) -> Sequence[BaseRoute]:
        routes: list[BaseRoute] = [
            Route(f"{API}/subscribed_events", self._feed, methods=["GET"]),
            Route(f"{API}/subscribed_events.json", self._feed, methods=["GET"]),
        ]
        for key in self.tables:
            writable = key not in READ_ONLY
            routes.append(
                Route(
                    f"{API}/{key}.json",
                    self._collection(key),
                    methods=["GET", "POST"] if writable else ["GET"],
                    name=f"{key}.index",
                )
            )
            routes.append(
                Route(
                    f"{API}/{key}/{{id}}.json",
                    self._member(key),
                    methods=["GET", "PUT"] if writable else ["GET"],
                    name=f"{key}.member",
                )
            )
        return routes

    def error_response(self, status: int, message: str, code: str) -> Response:
        kind = ERROR_TYPES.get(code, "system")
        return JSONResponse({"errors": [{"type": kind, "message": message}]}, status_code=status)

    def check_auth(self, request: Request) -> Response | None:
        denied = super().check_auth(request)
        if denied is not None:
            return denied
        if self._over_native_limit(request.headers["authorization"]):
            return self.error_response(429, "rate limit exceeded for this token", "RATE_LIMITED")
        return None

    def _over_native_limit(self, token: str) -> bool:
        if self.rate_limit_per_s is None:
            return False
        window = self._windows.setdefault(token, _Window())
        now = time.monotonic()
        if now - window.started >= 1.0:
            window.started, window.count = now, 0
        window.count += 1
        return window.count > self.rate_limit_per_s

    # Handlers look their table up per request: a reset replaces the tables.
    def _collection(self, key: str) -> Handler:
        async def collection(request: Request) -> Response:
            table = self.tables[key]
            if request.method == "POST":
                return await self._create(table, request)
            return self._index(table, request)

        collection.__doc__ = f"List or create {key}."
        return collection

    def _member(self, key: str) -> Handler:
        async def member(request: Request) -> Response:
            table = self.tables[key]
            row_id = request.path_params["id"]
            if row_id not in table.rows:
                return self.error_response(404, f"{table.singular} {row_id} not found", "NOT_FOUND")
            if request.method == "PUT":
                return await self._update(table, row_id, request)
            return self._show(table, [table.rows[row_id]], request)

        member.__doc__ = f"Read or update one of the {key}."
        return member

    def _index(self, table: Table, request: Request) -> Response:
        params = dict(request.query_params)
        try:
            return JSONResponse(render(table, select(table, params), params, self.tables))
        except BadRequestError as error:
            return self.error_response(400, str(error), "BAD_REQUEST")

    def _show(self, table: Table, rows: list[Row], request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k == "include"}
        params["per_page"] = str(max(1, len(rows)))
        try:
            return JSONResponse(render(table, rows, params, self.tables))
        except BadRequestError as error:
            return self.error_response(400, str(error), "BAD_REQUEST")

    # --- writes ----------------------------------------------------------------------

    async def _create(self, table: Table, request: Request) -> Response:
        try:
            body = await request.json()
            items = body.get(table.key, body.get(table.singular))
        except (ValueError, AttributeError):
            return self.error_response(400, "the body must be a JSON object", "BAD_REQUEST")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            return self.error_response(
                400, f"expected {{{table.key!r}: [ ... ]}} in the body", "BAD_REQUEST"
            )
        try:
            drafts = [
                self._draft(table, dict(table.defaults), item, creating=True) for item in items
            ]
        except InvalidValueError as error:
            return self.error_response(422, str(error), "INVALID")
        created = [
            self._insert(table, draft, sorted(item))
            for draft, item in zip(drafts, items, strict=True)
        ]
        return self._show(table, created, request)

    async def _update(self, table: Table, row_id: str, request: Request) -> Response:
        try:
            body = await request.json()
            fields = body[table.singular]
        except (ValueError, KeyError, TypeError):
            return self.error_response(
                400, f"expected {{{table.singular!r}: {{...}}}} in the body", "BAD_REQUEST"
            )
        if not isinstance(fields, dict):
            return self.error_response(400, f"{table.singular} must be an object", "BAD_REQUEST")
        previous = table.rows[row_id]
        try:
            draft = self._draft(table, previous, fields, creating=False)
        except InvalidValueError as error:
            return self.error_response(422, str(error), "INVALID")
        changed = sorted(name for name, value in draft.items() if previous.get(name) != value)
        if changed:
            self._save(table, previous, draft, changed)
        return self._show(table, [table.rows[row_id]], request)

    def _draft(self, table: Table, base: Row, fields: Mapping[str, Any], *, creating: bool) -> Row:
        """`base` with `fields` written, checked as the vendor would; `base` is untouched."""
        draft = copy.deepcopy(base)
        for name, value in fields.items():
            spec = table.fields.get(name)
            if spec is None:
                raise InvalidValueError(f"{name} is not a writable {table.singular} attribute")
            draft[name] = spec.check(name, value, self.tables)
        if creating:
            missing = [name for name in table.required if draft.get(name) in (None, "")]
            if missing:
                raise InvalidValueError(f"{', '.join(missing)} can't be blank")
        if "status_key" in draft:
            draft["status"] = STATUS_BY_KEY[draft.pop("status_key")]
        if table.key == "stories" and draft.get("state") != "completed":
            draft["completed_at"] = None
        return draft

    def _insert(self, table: Table, draft: Row, fields: list[str]) -> Row:
        now = self.clock.tick()
        blank = dict.fromkeys(name for name in table.fields if name != "status_key")
        row = {"id": table.new_id(), **blank, **draft}
        row.update(created_at=stamp(now), updated_at=stamp(now))
        _stamp_completion(table, row, now)
        table.rows[row["id"]] = row
        self.events.record(table, "created", at=now, previous=None, current=row)
        self.changed(f"{table.singular}.created", {"id": row["id"], "changed_fields": fields})
        return row

    def _save(self, table: Table, previous: Row, draft: Row, changed: list[str]) -> None:
        now = self.clock.tick()
        row = {**draft, "updated_at": stamp(now)}
        _stamp_completion(table, row, now)
        table.rows[row["id"]] = row
        self.events.record(table, "updated", at=now, previous=previous, current=row)
        self.changed(f"{table.singular}.updated", {"id": row["id"], "changed_fields": changed})

    def touch(self, entity: str, ids: Sequence[str]) -> int:
        table = self.tables[ENTITY_TABLES[entity]]
        found = [row_id for row_id in ids if row_id in table.rows]
        for row_id in found:
            previous = table.rows[row_id]
            self._save(table, previous, dict(previous), ["updated_at"])
        return len(found)

    # --- the subscribed-events feed --------------------------------------------------

    async def _feed(self, request: Request) -> Response:
        """Subscribed events: what changed, oldest first."""
        params = dict(request.query_params)
        try:
            events, window, maps = self._events_page(params)
        except BadRequestError as error:
            return self.error_response(400, str(error), "BAD_REQUEST")
        count = len(events)
        page = list(window.slice(events))
        body = envelope("subscribed_events", page, count=count, paging=window, maps=maps(page))
        return JSONResponse(body)

    def _events_page(
        self, params: Mapping[str, str]
    ) -> tuple[list[Row], Paging, Callable[[list[Row]], dict[str, dict[str, Row]]]]:
        unknown = set(params) - EVENT_PARAMS - {"page", "per_page"}
        if unknown:
            raise BadRequestError(
                f"unknown filter for subscribed_events: {', '.join(sorted(unknown))}"
            )
        includes = [i for i in params.get("include", "").split(",") if i]
        if set(includes) - {"subject"}:
            raise BadRequestError("subscribed_events can only include subject")
        event_types = [t for t in params.get("event_types", "").split(",") if t]
        events = self.events.query(
            created_after=_moment(params, "created_after"),
            created_before=_moment(params, "created_before"),
            event_types=event_types,
        )

        def subjects(page: list[Row]) -> dict[str, dict[str, Row]]:
            maps: dict[str, dict[str, Row]] = {}
            for event in page if includes else []:
                key, subject_id = event["subject_ref"]["key"], event["subject_id"]
                row = self.tables[key].rows.get(subject_id)
                if row is not None:
                    maps.setdefault(key, {})[subject_id] = row
            return maps

        return events, paging(params), subjects

    # --- sandbox knobs ---------------------------------------------------------------

    def admin_routes(self) -> Sequence[BaseRoute]:
        return (
            Route("/_sandbox/rate_limit", self._rate_limit, methods=["GET", "POST"]),
            Route("/_sandbox/event_feed", self._event_feed, methods=["GET", "POST"]),
        )

    async def _rate_limit(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            per_s = body.get("per_s") if isinstance(body, dict) else None
            if per_s is not None and (not isinstance(per_s, int | float) or per_s <= 0):
                return JSONResponse({"error": "per_s must be a positive number"}, status_code=400)
            self.rate_limit_per_s = float(per_s) if per_s is not None else None
            self._windows.clear()
        return JSONResponse({"per_s": self.rate_limit_per_s})

    async def _event_feed(self, request: Request) -> Response:
        released = 0
        if request.method == "POST":
            body = await request.json()
            if not isinstance(body, dict):
                return JSONResponse({"error": "expected an object"}, status_code=400)
            if "hold" in body:
                self.events.hold = bool(body["hold"])
            if body.get("release"):
                released = self.events.release()
        return JSONResponse({"hold": self.events.hold, "released": released})


def _stamp_completion(table: Table, row: Row, now: dt.datetime) -> None:
    if table.key == "stories" and row.get("state") == "completed" and not row.get("completed_at"):
        row["completed_at"] = stamp(now)


def _moment(params: Mapping[str, str], name: str) -> dt.datetime | None:
    if name not in params:
        return None
    try:
        moment = dt.datetime.fromisoformat(params[name])
    except ValueError:
        raise BadRequestError(f"{name} must be an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


SANDBOX = PsaSandbox
