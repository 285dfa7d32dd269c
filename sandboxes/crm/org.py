"""The sandbox's in-memory org: records by type and 18-char id, queried and written the
way the REST API would, raising `ApiError` with Salesforce's error codes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandboxes.crm.sobjects import SOBJECTS, Field, FieldError, FieldType, SObjectType, sobject_type
from sandboxes.crm.soql_engine import Condition, Query, Value, matches, sort_key
from sources.crm import ids
from sources.crm.formats import API_PATH

Row = dict[str, Value]

_FIRST_NEW_NUMBER = 50_000_000  # ids the API creates sit far above the seeded ones


class ApiError(Exception):
    """A request the org refuses: HTTP status, Salesforce errorCode, message, fields."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)


class MultipleMatchesError(Exception):
    """An upsert whose external id matches several records (HTTP 300)."""

    def __init__(self, sobject: SObjectType, record_ids: list[str]) -> None:
        super().__init__(f"{len(record_ids)} {sobject.name} records match")
        self.urls = [record_url(sobject, record_id) for record_id in record_ids]


@dataclass(frozen=True)
class QueryResult:
    sobject: SObjectType
    fields: tuple[Field, ...]
    rows: list[Row]
    count: bool = False


def record_url(sobject: SObjectType, record_id: str) -> str:
    return f"{API_PATH}/sobjects/{sobject.name}/{record_id}"


def unknown_type(name: str) -> ApiError:
    return ApiError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")


class Org:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._tables: dict[str, dict[str, Row]] = {t.name: {} for t in SOBJECTS.values()}
        self._numbers = itertools.count(_FIRST_NEW_NUMBER)

    # --- reading ---------------------------------------------------------------------

    def table(self, sobject: SObjectType) -> dict[str, Row]:
        return self._tables[sobject.name]

    def get(self, sobject: SObjectType, record_id: str) -> Row | None:
        """The record with this 15- or 18-char id; None for unknown or malformed ids."""
        if not ids.is_valid(record_id) or not record_id.startswith(sobject.prefix):
            return None
        return self.table(sobject).get(ids.to_18(record_id))

    def fields(self, sobject: SObjectType, names: Iterable[str]) -> tuple[Field, ...]:
        chosen: dict[str, Field] = {}
        for name in names:
            found = sobject.field(name.strip())
            if found is None:
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name.strip()}' on entity '{sobject.name}'.",
                    [name.strip()],
                )
            chosen.setdefault(found.name, found)
        return tuple(chosen.values())

    def query(self, query: Query) -> QueryResult:
        sobject = sobject_type(query.sobject)
        if sobject is None:
            raise unknown_type(query.sobject)
        fields = self.fields(sobject, query.fields)
        conditions = [self._bind(sobject, condition) for condition in query.where]
        rows = [
            row
            for row in self.table(sobject).values()
            if all(matches(c, row.get(c.field)) for c in conditions)
        ]
        for ordering in reversed(query.order_by):
            (by,) = self.fields(sobject, [ordering.field])
            # ASC puts nulls first and DESC last, as SOQL does by default
            rows.sort(key=_order_key(by.name), reverse=ordering.descending)
        start = query.offset or 0
        stop = None if query.limit is None else start + query.limit
        return QueryResult(sobject, fields, rows[start:stop], count=query.count)

    def _bind(self, sobject: SObjectType, condition: Condition) -> Condition:
        """The condition with its field's canonical name and its values in the field's type."""
        (field,) = self.fields(sobject, [condition.field])
        if condition.op == "LIKE":
            if field.type not in (FieldType.STRING, FieldType.EMAIL, FieldType.PICKLIST):
                raise ApiError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on {field.type.value} field: LIKE",
                    [field.name],
                )
            return Condition(field.name, "LIKE", condition.value)
        if condition.op in ("IN", "NOT IN"):
            values = tuple(_literal(field, v) for v in condition.value)
            return Condition(field.name, condition.op, values)
        return Condition(field.name, condition.op, _literal(field, condition.value))

    def changed_between(self, sobject: SObjectType, start: datetime, end: datetime) -> list[str]:
        """Ids whose SystemModstamp is in [start, end), so adjacent windows never overlap."""
        return [
            record_id
            for record_id, row in self.table(sobject).items()
            if start <= _moment(row["SystemModstamp"]) < end
        ]

    # --- writing ---------------------------------------------------------------------

    def load(self, sobject: SObjectType, row: Row) -> None:
        """Add a seeded record as is (its Id and timestamps included)."""
        _derive(sobject, row)
        self.table(sobject)[str(row["Id"])] = row

    def create(self, sobject: SObjectType, body: Mapping[str, Any]) -> str:
        row = self._applied(sobject, {}, body, creating=True)
        record_id = self._new_id(sobject)
        now = self._now()
        row.update(Id=record_id, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now)
        self.table(sobject)[record_id] = row
        return record_id

    def update(self, sobject: SObjectType, record_id: str, body: Mapping[str, Any]) -> list[str]:
        """Apply the changes; return the names of the fields whose values changed."""
        current = self.get(sobject, record_id)
        if current is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        row = self._applied(sobject, current, body, creating=False)
        changed = [name for name, value in row.items() if current.get(name) != value]
        now = self._now()
        row.update(LastModifiedDate=now, SystemModstamp=now)
        current.clear()
        current.update(row)
        return changed

    def upsert(
        self, sobject: SObjectType, field_name: str, value: str, body: Mapping[str, Any]
    ) -> tuple[str, bool, list[str]]:
        """Update the one record whose external id is `value`, or create it.

        Returns (id, created, changed field names); MultipleMatchesError when several match.
        """
        field = sobject.field(field_name)
        if field is None or not field.external_id:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        given = next((v for k, v in body.items() if k.lower() == field.name.lower()), value)
        if given != value:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"{field.name} in the body does not match the external id in the URL",
                [field.name],
            )
        found = [
            record_id
            for record_id, row in self.table(sobject).items()
            if row.get(field.name) is not None and sort_key(row[field.name]) == sort_key(value)
        ]
        if len(found) > 1:
            raise MultipleMatchesError(sobject, found)
        if found:
            return found[0], False, self.update(sobject, found[0], body)
        record_id = self.create(sobject, {**body, field.name: value})
        return record_id, True, sorted(self.table(sobject)[record_id])

    def touch(self, sobject: SObjectType, record_ids: Iterable[str]) -> list[str]:
        """Mark the records modified now; return the 18-char ids found."""
        rows = [row for row in map(lambda i: self.get(sobject, i), record_ids) if row is not None]
        now = self._now()  # one stamp for the whole batch, like one transaction
        for row in rows:
            row.update(LastModifiedDate=now, SystemModstamp=now)
        return [str(row["Id"]) for row in rows]

    def _applied(
        self, sobject: SObjectType, current: Row, body: Mapping[str, Any], *, creating: bool
    ) -> Row:
        row = dict(current)
        for name, raw in body.items():
            if name == "attributes":
                continue
            (field,) = self.fields(sobject, [name])
            if not field.writable:
                action = "create" if creating else "update"
                raise ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to {action} fields: {field.name}",
                    [field.name],
                )
            try:
                value = field.from_json(raw)
            except FieldError as error:
                raise ApiError(400, error.code, error.message, [error.field_name]) from None
            if field.references and value is not None:
                self._check_reference(field, str(value))
            row[field.name] = value
        missing = [f.name for f in sobject.fields if f.required and row.get(f.name) in (None, "")]
        if missing:
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing
            )
        _derive(sobject, row)
        return row

    def _check_reference(self, field: Field, record_id: str) -> None:
        target = sobject_type(field.references or "")
        if target is None or self.get(target, record_id) is None:
            raise ApiError(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {record_id}",
                [field.name],
            )

    def _new_id(self, sobject: SObjectType) -> str:
        while True:
            record_id = ids.make_id(sobject.prefix, next(self._numbers))
            if record_id not in self.table(sobject):
                return record_id


def _literal(field: Field, value: Value) -> Value:
    if field.type in (FieldType.ID, FieldType.REFERENCE) and value is not None:
        if not isinstance(value, str) or not ids.is_valid(value):
            raise ApiError(
                400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}", [field.name]
            )
        return ids.to_18(value)
    if not field.accepts_literal(value):
        quoted = " and should not be enclosed in quotes" if isinstance(value, str) else ""
        raise ApiError(
            400,
            "MALFORMED_QUERY",
            f"value of filter criterion for field '{field.name}' must be of type "
            f"{field.type.value}{quoted}",
            [field.name],
        )
    return value


def _order_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(name)
        return value is not None, sort_key(value)

    return key


def _derive(sobject: SObjectType, row: Row) -> None:
    """Fill the fields Salesforce computes from others."""
    if sobject.name == "Opportunity":
        stage = row.get("StageName")
        row["IsClosed"] = stage in ("Closed Won", "Closed Lost")
        row["IsWon"] = stage == "Closed Won"
    elif sobject.name == "Contact":
        parts = (row.get("FirstName"), row.get("LastName"))
        row["Name"] = " ".join(str(p) for p in parts if p)


def _moment(value: Value) -> datetime:
    assert isinstance(value, datetime), "SystemModstamp is always set"
    return value
