"""A Harvest API v2-shaped time-and-expense sandbox.

Vendor routes, under `/v2` (all need `Authorization: Bearer <token>`,
`Harvest-Account-Id: 100200` and a `User-Agent`, else 400/401/403 as Harvest answers):

- `GET /time_entries`, `GET /expenses`: filters `updated_since`, `from`, `to`, `project_id`,
  `user_id`, `client_id`, `is_billed`, `approval_status`, `external_reference_id` (time
  entries); paged by `per_page` (default and max 2000; more is a 422) and `page`, with
  `links.next` as a `cursor=` URL;
- `GET /time_entries/{id}`, `POST /time_entries` (201), `PATCH /time_entries/{id}`;
  `GET /expenses/{id}`;
- `GET /users[/{id}]`, `GET /projects[/{id}]`, paged the same way;
- `GET /reports/time/projects?from=&to=`, `GET /reports/uninvoiced?from=&to=` and
  `GET /reports/time/team?from=&to=`.

Sandbox extensions to Harvest's shape: time entries carry `approved_at`; a PATCH may
set `approval_status` (mirroring Harvest's approval workflow) and `is_billed` with
`invoice {id, number}`; the time report by project adds `approved_hours` per project,
and the one by team member `approved_billable_hours` per user.

Harvest's limit applies per token: 100 requests per 15 seconds, then 429 with
`Retry-After` (seconds). `POST /_sandbox/limits {"requests": N, "window_s": S}` tunes it,
`DELETE` restores Harvest's own, and so does `POST /_sandbox/reset`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandboxes.base import Sandbox
from sandboxes.responses import JSONResponse
from sandboxes.time.ledger import ProjectLedger
from sandboxes.time.limits import RequestWindow
from sandboxes.time.paging import SortKey, page_body
from sandboxes.time.params import (
    InvalidValueError,
    optional_bool,
    optional_choice,
    optional_date,
    optional_datetime,
    parse_date,
)
from sandboxes.time.rendered import Rendered
from sandboxes.time.reports import (
    EntryTotals,
    KeptReports,
    KeptRow,
    ReportRow,
    entry_totals,
    team_report,
    time_report,
    uninvoiced_expenses,
    uninvoiced_report,
)
from sandboxes.time.rows import (
    ExpenseRow,
    ProjectRow,
    TimeEntryRow,
    UserRow,
    expense_category_ids,
    project_world,
    render_expense,
    render_project,
    render_time_entry,
    render_user,
)
from sandboxes.time.table import Table
from sandboxes.time.writes import (
    EDITABLE_FIELDS,
    apply_changes,
    entry_changes,
    new_time_entry,
)
from sandboxes.world.model import World
from sources.records import SourceSystem
from sources.time.harvest import ACCOUNT_HEADER, API_PREFIX, APPROVAL_STATUSES

Handler = Callable[["TimeSandbox", Request], Awaitable[Response]]


def _harvest(handler: Handler) -> Handler:
    """Answer a request Harvest would refuse (`InvalidValueError`) with its 422."""

    @functools.wraps(handler)
    async def guarded(self: TimeSandbox, request: Request) -> Response:
        try:
            return await handler(self, request)
        except InvalidValueError as error:
            return self.error_response(422, str(error), "UNPROCESSABLE_ENTITY")

    return guarded


class _Dated(Protocol):
    id: str
    seq: int
    project_id: str
    spent_date: date
    is_billed: bool
    approval_status: str
    updated_at: datetime


D = TypeVar("D", bound=_Dated)


def _newest_first(row: _Dated) -> SortKey:
    return (-row.spent_date.toordinal(), -row.seq)


_AFTER_ALL: SortKey = (1,)  # after every `_newest_first` key: ordinals are at least 1


def _flag(value: bool) -> str:
    return "true" if value else "false"


# Indexes on the approval and billing state of entries and expenses, named apart from
# the query parameters so `_dated` puts normalized values in them.
STATE_INDEXES: dict[str, Callable[[_Dated], str | None]] = {
    "approval": lambda row: row.approval_status,
    "billed": lambda row: _flag(row.is_billed),
}


def _oldest_first(row: UserRow | ProjectRow) -> SortKey:
    return (row.seq,)


def _report_order(row: KeptRow) -> SortKey:
    return row[0]


class TimeSandbox(Sandbox):
    system = SourceSystem.TIME
    name = "time"
    title = "Harvest-shaped time tracking"
    account_id = "100200"

    users: Table[UserRow]
    projects: Table[ProjectRow]
    time_entries: Table[TimeEntryRow]
    expenses: Table[ExpenseRow]
    entry_totals: ProjectLedger[TimeEntryRow, EntryTotals]
    expense_totals: ProjectLedger[ExpenseRow, float]
    limits: RequestWindow

    def seed(self, world: World) -> None:
        data = project_world(world, not_after=self.clock.now())
        self._entry = Rendered[TimeEntryRow](
            lambda row: render_time_entry(row, self.users, self.projects)
        )
        self._user = Rendered[UserRow](render_user)
        self._project = Rendered[ProjectRow](render_project)
        self._reports = KeptReports()
        self.users = Table[UserRow](
            data.users, {}, watchers=[self._entry.quoted(), self._user, self._reports]
        )
        self.projects = Table[ProjectRow](
            data.projects,
            {"client_id": lambda p: p.client.id},
            watchers=[self._entry.quoted(), self._project, self._reports],
        )
        self.entry_totals = ProjectLedger[TimeEntryRow, EntryTotals](entry_totals)
        self.time_entries = Table[TimeEntryRow](
            data.time_entries,
            {
                "project_id": lambda e: e.project_id,
                "user_id": lambda e: e.user_id,
                "external_reference_id": lambda e: (
                    e.external_reference["id"] if e.external_reference else None
                ),
                # The gateway's scans list approved, unbilled time page after page.
                **STATE_INDEXES,
            },
            order=_newest_first,
            watchers=[self.entry_totals, self._entry, self._reports],
        )
        self.expense_totals = ProjectLedger[ExpenseRow, float](uninvoiced_expenses)
        self.expenses = Table[ExpenseRow](
            data.expenses,
            {
                "project_id": lambda e: e.project_id,
                "user_id": lambda e: e.user_id,
                **STATE_INDEXES,
            },
            order=_newest_first,
            watchers=[self.expense_totals, self._reports],
        )
        self.categories = expense_category_ids(data.expenses)
        self.limits = RequestWindow()
        self._next_seq = len(data.time_entries)
        entry_ids = (int(row.id) for row in data.time_entries if row.id.isdigit())
        self._next_id = max(entry_ids, default=0) + 1

    # --- the gate ----------------------------------------------------------------------

    def check_auth(self, request: Request) -> Response | None:
        """Harvest's required headers, then its per-token request limit."""
        if not request.headers.get("user-agent", "").strip():
            return self.error_response(400, "a User-Agent header is required", "BAD_REQUEST")
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            return self.error_response(
                401,
                "The access token provided is expired, revoked, malformed or invalid.",
                "INVALID_AUTH",
            )
        if request.headers.get(ACCOUNT_HEADER) != self.account_id:
            return self.error_response(
                403, f"{ACCOUNT_HEADER} names no account this token can access", "FORBIDDEN"
            )
        wait = self.limits.admit(self.token)
        if wait is not None:
            response = self.error_response(429, "API rate limit exceeded", "TOO_MANY_REQUESTS")
            response.headers["Retry-After"] = str(wait)
            return response
        return None

    def error_response(self, status: int, message: str, code: str) -> Response:
        if status == 401:
            body: dict[str, Any] = {"error": "invalid_token", "error_description": message}
        elif status == 403:
            body = {"error": "forbidden", "error_description": message}
        else:
            body = {"status": status, "error": code.lower(), "message": message}
        return JSONResponse(body, status_code=status)

    # --- routes ------------------------------------------------------------------------

    def vendor_routes(self) -> Sequence[BaseRoute]:
        v2 = API_PREFIX
        return [
            Route(f"{v2}/time_entries", self.list_time_entries, methods=["GET"]),
            Route(f"{v2}/time_entries", self.create_time_entry, methods=["POST"]),
            Route(f"{v2}/time_entries/{{id}}", self.get_time_entry, methods=["GET"]),
            Route(f"{v2}/time_entries/{{id}}", self.update_time_entry, methods=["PATCH"]),
            Route(f"{v2}/expenses", self.list_expenses, methods=["GET"]),
            Route(f"{v2}/expenses/{{id}}", self.get_expense, methods=["GET"]),
            Route(f"{v2}/users", self.list_users, methods=["GET"]),
            Route(f"{v2}/users/{{id}}", self.get_user, methods=["GET"]),
            Route(f"{v2}/projects", self.list_projects, methods=["GET"]),
            Route(f"{v2}/projects/{{id}}", self.get_project, methods=["GET"]),
            Route(f"{v2}/reports/time/projects", self.time_report, methods=["GET"]),
            Route(f"{v2}/reports/uninvoiced", self.uninvoiced_report, methods=["GET"]),
            Route(f"{v2}/reports/time/team", self.team_report, methods=["GET"]),
        ]

    def admin_routes(self) -> Sequence[BaseRoute]:
        return [Route("/_sandbox/limits", self._limits, methods=["GET", "POST", "DELETE"])]

    # --- time entries ------------------------------------------------------------------

    @_harvest
    async def list_time_entries(self, request: Request) -> Response:
        """List time entries, newest spent_date first."""
        rows = self._dated(self.time_entries, request.query_params)
        return JSONResponse(page_body(request, "time_entries", rows, _newest_first, self._entry))

    @_harvest
    async def get_time_entry(self, request: Request) -> Response:
        """Retrieve a time entry."""
        row = self.time_entries.get(request.path_params["id"])
        if row is None:
            return self._not_found("time entry")
        return JSONResponse(self._entry(row))

    @_harvest
    async def create_time_entry(self, request: Request) -> Response:
        """Create a time entry (no idempotency key: look up by external_reference_id first)."""
        body = await _json_object(request)
        row = new_time_entry(
            body,
            self.users,
            self.projects,
            entry_id=str(self._next_id),
            seq=self._next_seq,
            now=self.clock.tick(),
        )
        self._next_id += 1
        self._next_seq += 1
        self.time_entries.add(row)
        fields = sorted(EDITABLE_FIELDS & body.keys())
        self.changed("time_entry.created", {"id": row.id, "changed_fields": fields})
        return JSONResponse(self._entry(row), status_code=201)

    @_harvest
    async def update_time_entry(self, request: Request) -> Response:
        """Update a time entry; setting approval_status "approved" approves it."""
        row = self.time_entries.get(request.path_params["id"])
        if row is None:
            return self._not_found("time entry")
        changes = entry_changes(row, await _json_object(request), self.users, self.projects)
        if changes:
            with self.time_entries.updating(row):
                apply_changes(row, changes, self.clock.tick())
            self.changed("time_entry.updated", {"id": row.id, "changed_fields": sorted(changes)})
        return JSONResponse(self._entry(row))

    # --- expenses ----------------------------------------------------------------------

    @_harvest
    async def list_expenses(self, request: Request) -> Response:
        """List expenses, newest spent_date first."""
        rows = self._dated(self.expenses, request.query_params)
        return JSONResponse(page_body(request, "expenses", rows, _newest_first, self._expense))

    @_harvest
    async def get_expense(self, request: Request) -> Response:
        """Retrieve an expense."""
        row = self.expenses.get(request.path_params["id"])
        if row is None:
            return self._not_found("expense")
        return JSONResponse(self._expense(row))

    # --- users and projects ------------------------------------------------------------

    @_harvest
    async def list_users(self, request: Request) -> Response:
        """List users."""
        params = request.query_params
        active = optional_bool(params, "is_active")
        rows = [
            row
            for row in self.users.select({}, optional_datetime(params, "updated_since"))
            if active is None or row.is_active == active
        ]
        rows.sort(key=_oldest_first)
        return JSONResponse(page_body(request, "users", rows, _oldest_first, self._user))

    @_harvest
    async def get_user(self, request: Request) -> Response:
        """Retrieve a user."""
        row = self.users.get(request.path_params["id"])
        return self._not_found("user") if row is None else JSONResponse(self._user(row))

    @_harvest
    async def list_projects(self, request: Request) -> Response:
        """List projects."""
        params = request.query_params
        active = optional_bool(params, "is_active")
        equal = {"client_id": params["client_id"]} if "client_id" in params else {}
        rows = [
            row
            for row in self.projects.select(equal, optional_datetime(params, "updated_since"))
            if active is None or row.is_active == active
        ]
        rows.sort(key=_oldest_first)
        return JSONResponse(page_body(request, "projects", rows, _oldest_first, self._project))

    @_harvest
    async def get_project(self, request: Request) -> Response:
        """Retrieve a project."""
        row = self.projects.get(request.path_params["id"])
        return self._not_found("project") if row is None else JSONResponse(self._project(row))

    # --- reports -----------------------------------------------------------------------

    @_harvest
    async def time_report(self, request: Request) -> Response:
        """Time report by project (plus approved_hours, a sandbox extension)."""
        return self._report(
            request,
            "time",
            lambda start, end: time_report(self.entry_totals, self.projects, start, end),
        )

    @_harvest
    async def uninvoiced_report(self, request: Request) -> Response:
        """Uninvoiced report by project."""
        return self._report(
            request,
            "uninvoiced",
            lambda start, end: uninvoiced_report(
                self.entry_totals, self.expense_totals, self.projects, start, end
            ),
        )

    @_harvest
    async def team_report(self, request: Request) -> Response:
        """Time report by team member (plus approved_billable_hours, a sandbox extension)."""
        return self._report(
            request,
            "team",
            lambda start, end: team_report(
                self.time_entries.select({}, None, _spent_within(start, end)),
                self.users,
                self.projects,
            ),
        )

    def _report(
        self, request: Request, name: str, build: Callable[[date, date], list[ReportRow]]
    ) -> Response:
        """A report's page for the request's range, its whole answer kept until a row changes."""
        date_from, date_to = _report_range(request.query_params)
        rows = self._reports.answer(name, date_from, date_to, lambda: build(date_from, date_to))
        return JSONResponse(page_body(request, "results", rows, _report_order, _result))

    # --- sandbox admin -----------------------------------------------------------------

    def touch(self, entity: str, ids: Sequence[str]) -> int:
        tables: dict[str, Table[Any]] = {
            "time_entry": self.time_entries,
            "expense": self.expenses,
            "user": self.users,
            "project": self.projects,
        }
        table = tables[entity]  # an unknown entity is the caller's 400
        found = 0
        for row_id in ids:
            row = table.get(row_id)
            if row is None:
                continue
            with table.updating(row):
                row.updated_at = self.clock.tick()
            self.changed(f"{entity}.updated", {"id": row_id, "changed_fields": []})
            found += 1
        return found

    async def _limits(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await request.json()
                self.limits = RequestWindow(
                    int(body.get("requests", self.limits.requests)),
                    float(body.get("window_s", self.limits.window_s)),
                )
            except (ValueError, TypeError, AttributeError) as error:
                return JSONResponse({"error": f"bad limits: {error}"}, status_code=400)
        elif request.method == "DELETE":
            self.limits = RequestWindow()
        return JSONResponse({"requests": self.limits.requests, "window_s": self.limits.window_s})

    # --- helpers -----------------------------------------------------------------------

    def _dated(self, table: Table[D], params: Mapping[str, str]) -> list[D]:
        """Time entries or expenses matching Harvest's filters, newest first."""
        equal = {
            name: params[name]
            for name in table.index_names - STATE_INDEXES.keys()
            if name in params
        }
        date_from, date_to = optional_date(params, "from"), optional_date(params, "to")
        billed = optional_bool(params, "is_billed")
        approval = optional_choice(params, "approval_status", APPROVAL_STATUSES)
        if billed is not None:
            equal["billed"] = _flag(billed)
        if approval is not None:
            equal["approval"] = approval
        client_id = params.get("client_id")
        within = _spent_within(date_from, date_to)
        updated_since = optional_datetime(params, "updated_since")
        rows = table.select(equal, updated_since, within)  # newest first
        if client_id is None:
            return rows
        return [row for row in rows if self.projects[row.project_id].client.id == client_id]

    def _expense(self, row: ExpenseRow) -> dict[str, Any]:
        return render_expense(row, self.users, self.projects, self.categories)

    def _not_found(self, what: str) -> Response:
        return self.error_response(404, f"no such {what}", "NOT_FOUND")


def _spent_within(date_from: date | None, date_to: date | None) -> tuple[SortKey, SortKey] | None:
    """The order keys (newest first) of rows spent in [date_from, date_to], either end
    open when None; None when both are."""
    if date_from is None and date_to is None:
        return None
    # newest first: the range runs from `to` (inclusive) down to `from` (inclusive)
    return (
        () if date_to is None else (-date_to.toordinal(),),
        _AFTER_ALL if date_from is None else (1 - date_from.toordinal(),),
    )


def _report_range(params: Mapping[str, str]) -> tuple[date, date]:
    for name in ("from", "to"):
        if name not in params:
            raise InvalidValueError(f"{name} is required")
    return parse_date(params["from"], "from"), parse_date(params["to"], "to")


def _result(row: KeptRow) -> orjson.Fragment:
    return row[1]


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidValueError("the body must be a JSON object")
    return body


SANDBOX = TimeSandbox
