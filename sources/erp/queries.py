"""The SuiteQL the ERP connector sends: what each entity reads, and how filters, batches
and change scans become WHERE clauses.

Values are always written as literals here, quoted by `literal`, never pasted in raw:
ids must be digits (NetSuite internal ids are integers) and text has its quotes doubled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# NetSuite's invoice status ids (saved-search values) for each canonical status; DRAFT and
# BLOCKED are both Pending Approval, told apart by the blocked reason.
INVOICE_STATUS_WHERE = {
    "POSTED": "status = 'A'",
    "PAID": "status = 'B'",
    "VOID": "status = 'V'",
    "DRAFT": "(status = 'D' AND custbody_blocked_reason IS NULL)",
    "BLOCKED": "(status = 'D' AND custbody_blocked_reason IS NOT NULL)",
}
OPEN_RECEIVABLE = "status = 'A'"
# Filters on external ids (text); every other filter names internal ids (integers).
TEXT_FILTERS = frozenset({"crm_account_id", "psa_project_id", "time_entry_id"})
INVOICED = "status IN ('A', 'B')"  # posted or paid; drafts, blocked and voided are not


@dataclass(frozen=True)
class Lines:
    """A sublist read with a second query, keyed by its parent's id."""

    table: str
    parent: str  # the column holding the parent's id
    columns: tuple[str, ...]


@dataclass(frozen=True)
class EntityQuery:
    table: str
    columns: tuple[str, ...]
    filters: Mapping[str, str]  # filter name -> column it constrains
    lines: Lines | None = None
    # filters answered through the sublist table: filter name -> line column
    line_filters: Mapping[str, str] = field(default_factory=dict)


ENTITY_QUERIES: Mapping[str, EntityQuery] = {
    "customer": EntityQuery(
        "customer",
        (
            "id",
            "externalid",
            "companyname",
            "BUILTIN.DF(terms) AS terms",
            "creditholdoverride",
            "custentity_credit_status",
            "BUILTIN.DF(currency) AS currency",
            "subsidiary",
            "lastmodifieddate",
        ),
        {"crm_account_id": "externalid"},
    ),
    "job": EntityQuery(
        "job",
        (
            "id",
            "externalid",
            "entityid",
            "companyname",
            "parent",
            "BUILTIN.DF(entitystatus) AS status",
            "lastmodifieddate",
        ),
        {"customer_id": "parent", "psa_project_id": "externalid"},
    ),
    "billing_schedule": EntityQuery(
        "billingschedule",
        ("id", "externalid", "job", "scheduletype", "lastmodifieddate"),
        {"job_id": "job"},
        Lines(
            "billingschedulerecurrence",
            "billingschedule",
            ("billingschedule", "line", "recurrencedate", "amount", "milestone"),
        ),
    ),
    "invoice": EntityQuery(
        "invoice",
        (
            "id",
            "externalid",
            "tranid",
            "entity",
            "job",
            "status",
            "total",
            "BUILTIN.DF(currency) AS currency",
            "trandate",
            "duedate",
            "custbody_paid_at",
            "custbody_blocked_reason",
            "lastmodifieddate",
        ),
        {"customer_id": "entity", "job_id": "job"},
    ),
    "payment": EntityQuery(
        "customerpayment",
        (
            "id",
            "externalid",
            "customer",
            "payment",
            "BUILTIN.DF(currency) AS currency",
            "trandate",
            "lastmodifieddate",
        ),
        {"customer_id": "customer"},
        Lines("customerpaymentapply", "customerpayment", ("customerpayment", "line", "doc")),
        {"invoice_id": "doc"},
    ),
    "time_posting": EntityQuery(
        "timebill",
        (
            "id",
            "externalid",
            "customer",
            "job",
            "hours",
            "amount",
            "BUILTIN.DF(currency) AS currency",
            "BUILTIN.DF(department) AS practice",
            "BUILTIN.DF(location) AS region",
            "trandate",
            "invoice",
            "lastmodifieddate",
        ),
        {"job_id": "job", "time_entry_id": "externalid", "invoice_id": "invoice"},
    ),
}


def entity_query(entity: str) -> EntityQuery:
    try:
        return ENTITY_QUERIES[entity]
    except KeyError:
        raise ValueError(f"ERP has no entity {entity!r}") from None


# --- literals ------------------------------------------------------------------------------


def literal(value: Any) -> str:
    """A SuiteQL literal: numbers bare, text quoted with its quotes doubled."""
    if isinstance(value, bool):
        return "'T'" if value else "'F'"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date):
        return f"TO_DATE('{value.isoformat()}', 'YYYY-MM-DD')"
    return "'" + str(value).replace("'", "''") + "'"


def timestamp(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    text = utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"TO_TIMESTAMP('{text}', 'YYYY-MM-DD HH24:MI:SS.FF')"


def internal_ids(values: Iterable[Any]) -> list[str]:
    """The values that can be NetSuite internal ids (digits), as text, deduplicated."""
    return list(dict.fromkeys(str(v) for v in values if str(v).isdigit()))


def in_list(column: str, values: Sequence[Any], *, numeric: bool) -> str:
    if numeric:
        return f"{column} IN ({', '.join(values)})"
    return f"{column} IN ({', '.join(literal(v) for v in values)})"


# --- statements ----------------------------------------------------------------------------


def select(query: EntityQuery, where: Sequence[str] = (), order: str = "id") -> str:
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {', '.join(query.columns)} FROM {query.table}{clause} ORDER BY {order}"


def by_ids(query: EntityQuery, ids: Sequence[str]) -> str:
    return select(query, [in_list("id", ids, numeric=True)])


def lines_of(lines: Lines, parent_ids: Sequence[str]) -> str:
    return _lines(lines, in_list(lines.parent, parent_ids, numeric=True))


def lines_where(lines: Lines, table: str, where: Sequence[str]) -> str:
    """The `lines` of every record of `table` that `where` (at least one condition) finds,
    so they can be asked for beside the records, not after them."""
    return _lines(lines, f"{lines.parent} IN (SELECT id FROM {table} WHERE {' AND '.join(where)})")


def _lines(lines: Lines, condition: str) -> str:
    return (
        f"SELECT {', '.join(lines.columns)} FROM {lines.table} "
        f"WHERE {condition} ORDER BY {lines.parent}, line"
    )


def values_in(filters: Mapping[str, Any]) -> int:
    """How many values `filters` name (a list counts each)."""
    return sum(len(_as_list(raw)) for raw in filters.values())


class NoMatchError(Exception):
    """A filter that no record can pass (an empty list, ids that cannot exist)."""


def filter_clauses(entity: str, query: EntityQuery, filters: Mapping[str, Any]) -> list[str]:
    """WHERE conditions for `filters`; raises NoMatchError when nothing can match."""
    clauses = []
    for name, raw in filters.items():
        values = _as_list(raw)
        if entity == "invoice" and name == "status":
            unknown = [v for v in values if v not in INVOICE_STATUS_WHERE]
            if unknown:
                raise ValueError(f"unknown invoice status {unknown[0]!r}")
            if not values:
                raise NoMatchError
            clauses.append("(" + " OR ".join(INVOICE_STATUS_WHERE[v] for v in values) + ")")
            continue
        column = query.filters.get(name)
        line_column = query.line_filters.get(name)
        if column is None and line_column is None:
            known = sorted([*query.filters, *query.line_filters])
            raise ValueError(f"ERP {entity} cannot be filtered by {name!r}; try {known}")
        numeric = name not in TEXT_FILTERS
        if numeric:
            values = internal_ids(values)
        if not values:
            raise NoMatchError
        if line_column is not None and query.lines is not None:
            lines = query.lines
            inner = in_list(line_column, values, numeric=numeric)
            clauses.append(f"id IN (SELECT {lines.parent} FROM {lines.table} WHERE {inner})")
        else:
            assert column is not None
            clauses.append(in_list(column, values, numeric=numeric))
    return clauses


def _as_list(raw: Any) -> list[Any]:
    if isinstance(raw, str | int) or raw is None:
        return [] if raw is None else [raw]
    return list(raw)


def changed_since(query: EntityQuery, moment: dt.datetime, after_id: str | None) -> str:
    """Rows modified after (moment, id) in (lastmodifieddate, id) order."""
    at = timestamp(moment)
    where = f"lastmodifieddate > {at}"
    if after_id is not None:
        where = f"({where} OR (lastmodifieddate = {at} AND id > {after_id}))"
    return select(query, [where], order="lastmodifieddate, id")


def latest_change(query: EntityQuery) -> str:
    return (
        f"SELECT id, lastmodifieddate FROM {query.table} WHERE lastmodifieddate IS NOT NULL "
        "ORDER BY lastmodifieddate DESC, id DESC"
    )


def counts(table: str, key: str, ids: Sequence[str]) -> str:
    return (
        f"SELECT {key}, COUNT(*) AS found FROM {table} "
        f"WHERE {in_list(key, ids, numeric=True)} GROUP BY {key} ORDER BY {key}"
    )


def sums(table: str, key: str, amount: str, ids: Sequence[str], condition: str) -> str:
    return (
        f"SELECT {key}, SUM({amount}) AS amount FROM {table} "
        f"WHERE {condition} AND {in_list(key, ids, numeric=True)} GROUP BY {key} ORDER BY {key}"
    )
