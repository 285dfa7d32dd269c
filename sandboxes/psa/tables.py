"""The PSA sandbox's tables: Kantata-shaped records and what may be asked of them.

Each `Table` knows its Kantata names (the route and envelope key `workspaces`, the body
and event key `workspace`), which fields a client may write and how to check them, and
which query filters and includes it answers. Rows are plain JSON-ready dicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]
Tables = Mapping[str, "Table"]

# world status -> Kantata's status object; writes name the status by its key
WORKSPACE_STATUS: dict[str, dict[str, Any]] = {
    "PLANNED": {"color": "grey", "key": 300, "message": "Not Started"},
    "ACTIVE": {"color": "green", "key": 310, "message": "Active"},
    "ON_HOLD": {"color": "yellow", "key": 320, "message": "On Hold"},
    "COMPLETED": {"color": "blue", "key": 350, "message": "Completed"},
    "CANCELLED": {"color": "red", "key": 360, "message": "Cancelled"},
}
STATUS_BY_KEY = {status["key"]: status for status in WORKSPACE_STATUS.values()}
STORY_STATES = ("not started", "started", "needs feedback", "completed", "rejected")
STORY_TYPES = ("task", "deliverable", "milestone", "issue")
REQUEST_STATUSES = ("open", "in_progress", "filled", "cancelled")


class InvalidValueError(ValueError):
    """A write the vendor would refuse with 422."""


def stamp(moment: dt.datetime) -> str:
    """Kantata's ISO 8601 timestamps, in UTC, to the millisecond."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def id_order(row_id: str) -> tuple[int, int, str]:
    return (0, int(row_id), "") if row_id.isdigit() else (1, 0, row_id)


@dataclass(frozen=True)
class FieldSpec:
    """What a writable field accepts; `ref` names the table its id must exist in."""

    kind: str  # str int float bool date strs enum ref
    choices: tuple[Any, ...] = ()
    ref: str | None = None

    def check(self, name: str, value: Any, tables: Tables) -> Any:
        if value is None:
            return None
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "enum": value in self.choices,
            "ref": isinstance(value, str | int) and not isinstance(value, bool),
            "date": isinstance(value, str),
        }[self.kind]
        if not ok:
            raise InvalidValueError(f"{name} is invalid: {value!r}")
        if self.kind == "date":
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise InvalidValueError(f"{name} is not a date: {value!r}") from None
        if self.kind == "ref":
            value = str(value)
            if self.ref is not None and value not in tables[self.ref].rows:
                raise InvalidValueError(f"{name} {value} does not exist")
        return value


# param value -> predicate over a row
Filter = Callable[[str], Callable[[Row], bool]]
# rows -> (included table key, row id -> ids of that table)
Include = Callable[[list[Row], Tables], tuple[str, dict[str, list[str]]]]


@dataclass
class Table:
    key: str  # "workspaces": the route and the envelope's map key
    singular: str  # "workspace": the PUT body key and the event-type prefix
    subject_type: str  # "Workspace": the event's subject_type
    fields: Mapping[str, FieldSpec]
    required: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    filters: Mapping[str, Filter] = field(default_factory=dict)
    includes: Mapping[str, tuple[str | None, Include]] = field(default_factory=dict)
    hidden: Callable[[Row, Mapping[str, str]], bool] = lambda row, params: False
    rows: dict[str, Row] = field(default_factory=dict)
    # The ids in order, kept while their number holds: rows are added or replaced, never
    # removed (Kantata's API here deletes nothing), so a count that holds is a set that does.
    _order: tuple[int, list[str]] = field(default=(-1, []), repr=False, compare=False)

    def new_id(self) -> str:
        numeric = [int(i) for i in self.rows if i.isdigit()]
        return str(max(numeric, default=0) + 1)

    def ordered(self) -> list[Row]:
        rows = self.rows
        if self._order[0] != len(rows):
            self._order = (len(rows), sorted(rows, key=id_order))
        return [rows[i] for i in self._order[1]]


# --- filters -------------------------------------------------------------------------


def one_of(column: str) -> Filter:
    def build(value: str) -> Callable[[Row], bool]:
        wanted = {v.strip() for v in value.split(",") if v.strip()}
        return lambda row: row.get(column) is not None and str(row[column]) in wanted

    return build


def equals_text(column: str) -> Filter:
    def build(value: str) -> Callable[[Row], bool]:
        return lambda row: str(row.get(column) or "").lower() == value.lower()

    return build


def search(*columns: str) -> Filter:
    """Kantata's `search`: a substring of any text column, or `column:'text'`."""

    def build(value: str) -> Callable[[Row], bool]:
        scoped, _, text = value.partition(":")
        names: tuple[str, ...]
        if text and scoped in columns:
            needle, names = text.strip("'\""), (scoped,)
        else:
            needle, names = value, columns
        needle = needle.lower()
        return lambda row: any(needle in str(row.get(n) or "").lower() for n in names)

    return build


def workspace_status(value: str) -> Callable[[Row], bool]:
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    return lambda row: (
        str(row["status"]["key"]) in wanted or row["status"]["message"].lower() in wanted
    )


def ignore(value: str) -> Callable[[Row], bool]:
    return lambda row: True


# --- includes ------------------------------------------------------------------------


def include_column(target: str, column: str) -> Include:
    def ids(rows: list[Row], tables: Tables) -> tuple[str, dict[str, list[str]]]:
        return target, {r["id"]: [str(r[column])] for r in rows if r.get(column) is not None}

    return ids


def include_participants(rows: list[Row], tables: Tables) -> tuple[str, dict[str, list[str]]]:
    wanted = {row["id"] for row in rows}
    members: dict[str, list[str]] = {row["id"]: [] for row in rows}
    for participation in tables["participations"].rows.values():
        workspace = participation["workspace_id"]
        if workspace in wanted and participation["user_id"] not in members[workspace]:
            members[workspace].append(participation["user_id"])
    for row in rows:
        maintainer = row.get("primary_maintainer_id")
        if maintainer and maintainer not in members[row["id"]]:
            members[row["id"]].insert(0, maintainer)
    return "users", members


# --- the schema ----------------------------------------------------------------------


def empty_tables() -> dict[str, Table]:
    text, day, strs = FieldSpec("str"), FieldSpec("date"), FieldSpec("strs")
    workspace_ref = FieldSpec("ref", ref="workspaces")
    user_ref = FieldSpec("ref", ref="users")
    by_workspace = {"workspace_id": one_of("workspace_id")}
    tables = [
        Table(
            key="workspaces",
            singular="workspace",
            subject_type="Workspace",
            fields={
                "title": text,
                "description": text,
                "status_key": FieldSpec("enum", choices=tuple(STATUS_BY_KEY)),
                "archived": FieldSpec("bool"),
                "start_date": day,
                "due_date": day,
                "price_in_cents": FieldSpec("int"),
                "currency": text,
                "primary_maintainer_id": user_ref,
                "crm_opportunity_id": text,
                "crm_account_id": text,
                "erp_job_id": text,
                "project_code": text,
                "practice": text,
                "region": text,
            },
            required=("title",),
            defaults={
                "description": "",
                "status": WORKSPACE_STATUS["PLANNED"],
                "archived": False,
                "currency": "USD",
            },
            filters={
                "search": search("title", "description", "project_code"),
                "status": workspace_status,
                "include_archived": ignore,
                "crm_opportunity_id": one_of("crm_opportunity_id"),
                "crm_account_id": one_of("crm_account_id"),
                "erp_job_id": one_of("erp_job_id"),
                "project_code": one_of("project_code"),
                "practice": equals_text("practice"),
                "region": equals_text("region"),
            },
            includes={
                "participants": ("participant_ids", include_participants),
                "primary_maintainer": (None, include_column("users", "primary_maintainer_id")),
            },
            # Archived workspaces are left out of lists unless asked for, as in Kantata.
            hidden=lambda row, params: (
                bool(row["archived"]) and params.get("include_archived") != "true"
            ),
        ),
        Table(
            key="stories",
            singular="story",
            subject_type="Story",
            fields={
                "title": text,
                "workspace_id": workspace_ref,
                "story_type": FieldSpec("enum", choices=STORY_TYPES),
                "due_date": day,
                "state": FieldSpec("enum", choices=STORY_STATES),
                "billed": FieldSpec("bool"),
                "budget_estimate_in_cents": FieldSpec("int"),
            },
            required=("title", "workspace_id"),
            defaults={"story_type": "task", "state": "not started", "billed": False},
            filters={**by_workspace, "story_type": one_of("story_type"), "state": one_of("state")},
            includes={"workspace": (None, include_column("workspaces", "workspace_id"))},
        ),
        Table(
            key="participations",
            singular="participation",
            subject_type="Participation",
            fields={
                "workspace_id": workspace_ref,
                "user_id": user_ref,
                "role": text,
                "hours_per_week": FieldSpec("float"),
                "start_date": day,
                "end_date": day,
            },
            required=("workspace_id", "user_id"),
            filters={**by_workspace, "user_id": one_of("user_id")},
            includes={
                "workspace": (None, include_column("workspaces", "workspace_id")),
                "user": (None, include_column("users", "user_id")),
            },
        ),
        Table(
            key="resource_requests",
            singular="resource_request",
            subject_type="ResourceRequest",
            fields={
                "workspace_id": workspace_ref,
                "role": text,
                "skills": strs,
                "hours_per_week": FieldSpec("float"),
                "start_date": day,
                "status": FieldSpec("enum", choices=REQUEST_STATUSES),
                "assigned_user_id": user_ref,
                "external_reference": text,
            },
            required=("workspace_id", "role"),
            defaults={"status": "open", "skills": []},
            filters={
                **by_workspace,
                "status": one_of("status"),
                "external_reference": one_of("external_reference"),
                "assigned_user_id": one_of("assigned_user_id"),
            },
            includes={"workspace": (None, include_column("workspaces", "workspace_id"))},
        ),
        Table(
            key="users",
            singular="user",
            subject_type="User",
            fields={},
            filters={"search": search("full_name", "email_address")},
        ),
    ]
    return {table.key: table for table in tables}
