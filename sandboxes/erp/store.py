"""The sandbox's records in memory, and their two faces: record API JSON and SuiteQL rows.

A record is a dict keyed by catalog field names holding Python values: `str` ids,
`date`/`datetime`, `Decimal` money, `bool`, a reference as the referenced id, a sublist
as a list of line dicts. Rendering adds what NetSuite shows (refName, links); parsing a
request body checks every field against the catalog and resolves every reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.erp.catalog import RECORD_TYPES, FieldSpec, RecordType
from sandboxes.erp.suiteql_engine import Row, Table

Record = dict[str, Any]


@dataclass
class RecordError(Exception):
    """A request NetSuite would refuse; becomes an error body with this code."""

    status: int
    code: str
    detail: str


def render_datetime(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _sql_id(value: str) -> int | str:
    # Internal ids are integers in SuiteQL, so they sort and compare as numbers.
    return int(value) if value.isdigit() else value


def _sort_id(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


class RecordStore:
    def __init__(self, types: Mapping[str, RecordType] = RECORD_TYPES) -> None:
        self.types = types
        # Kept in id order (new ids are the highest), so listings need no sort.
        self._records: dict[str, dict[str, Record]] = {name: {} for name in types}
        self._external: dict[str, dict[str, str]] = {name: {} for name in types}
        self._max_id: dict[str, int] = {name: 0 for name in types}
        self._unsorted: set[str] = set()
        # Bumped by every change to any record, so whatever was read from the store
        # knows when it may be out of date.
        self.generation = 0
        self._tables: dict[str, dict[str, Table]] = {}  # per record type, its tables
        self._row_cache: dict[str, dict[str, _RecordRow]] = {}  # per record type, by id
        self._table_owner = {
            f"{name}{sub}".lower(): name
            for name, record_type in types.items()
            for sub in (*record_type.sublists(), "")
        }

    # --- lookup --------------------------------------------------------------------------

    def type(self, name: str) -> RecordType:
        try:
            return self.types[name]
        except KeyError:
            raise RecordError(
                404, "INVALID_RCRD_TYPE", f"Record type '{name}' does not exist."
            ) from None

    def get(self, type_name: str, record_id: str) -> Record | None:
        return self._records[type_name].get(record_id)

    def by_external_id(self, type_name: str, external_id: str) -> Record | None:
        record_id = self._external[type_name].get(external_id)
        return None if record_id is None else self._records[type_name][record_id]

    def resolve(self, type_name: str, key: str) -> Record | None:
        """A record by internal id, or by external id written `eid:<id>`."""
        if key.startswith("eid:"):
            return self.by_external_id(type_name, key[4:])
        return self.get(type_name, key)

    def all(self, type_name: str) -> list[Record]:
        records = self._records[type_name]
        if type_name in self._unsorted:
            ordered = sorted(records.items(), key=lambda item: _sort_id(item[0]))
            records.clear()
            records.update(ordered)
            self._unsorted.discard(type_name)
        return list(records.values())

    def display(self, type_name: str, record_id: str) -> str | None:
        record = self.get(type_name, record_id)
        if record is None:
            return None
        value = record.get(self.types[type_name].display)
        return None if value is None else str(value)

    # --- change --------------------------------------------------------------------------

    def next_id(self, type_name: str) -> str:
        return str(self._max_id[type_name] + 1)

    def put(self, type_name: str, record: Record) -> Record:
        """Insert or replace `record` (which carries its id) and index its external id."""
        records, external = self._records[type_name], self._external[type_name]
        record_id = record["id"]
        old = records.get(record_id)
        ext = record.get("externalId")
        owner = None if ext is None else external.get(ext)
        if owner is not None and owner != record_id:
            raise RecordError(
                400, "DUP_RCRD", f"A {type_name} record with external ID '{ext}' already exists."
            )
        if old is not None and old.get("externalId") not in (None, ext):
            external.pop(old["externalId"], None)
        if ext is not None:
            external[ext] = record_id
        if old is None and record_id.isdigit():
            if int(record_id) < self._max_id[type_name]:
                self._unsorted.add(type_name)
            self._max_id[type_name] = max(self._max_id[type_name], int(record_id))
        elif old is None:
            self._unsorted.add(type_name)
        records[record_id] = record
        self.changed(type_name)
        return record

    def load(self, type_name: str, records: Iterable[Record]) -> None:
        """Add many new records at once (seeding); external ids must be unique."""
        stored, external = self._records[type_name], self._external[type_name]
        last = self._max_id[type_name]
        for record in records:
            record_id = record["id"]
            stored[record_id] = record
            ext = record.get("externalId")
            if ext is not None and external.setdefault(ext, record_id) != record_id:
                raise ValueError(f"{type_name}: external id {ext} given twice")
            if not record_id.isdigit() or int(record_id) < last:
                self._unsorted.add(type_name)
            else:
                last = int(record_id)
        self._max_id[type_name] = last
        self.changed(type_name)

    def delete(self, type_name: str, record_id: str) -> bool:
        record = self._records[type_name].pop(record_id, None)
        if record is None:
            return False
        if record.get("externalId") is not None:
            self._external[type_name].pop(record["externalId"], None)
        self._row_cache.get(type_name, {}).pop(record_id, None)
        self.changed(type_name)
        return True

    def changed(self, type_name: str) -> None:
        """Call after editing a stored record of this type in place."""
        self._tables.pop(type_name, None)
        self.generation += 1

    # --- request bodies ---------------------------------------------------------------------

    def parse_body(self, type_name: str, body: Any) -> Record:
        """Check a request body against the catalog; references become ids."""
        record_type = self.type(type_name)
        if not isinstance(body, dict):
            raise RecordError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        parsed: Record = {}
        for name, value in body.items():
            spec = record_type.fields.get(name)
            if spec is None or not spec.writable:
                raise RecordError(
                    400, "INVALID_FIELD", f"Field '{name}' of {type_name} cannot be set."
                )
            parsed[name] = self._parse_value(f"{type_name}.{name}", spec, value)
        return parsed

    def _parse_value(self, path: str, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return [] if spec.kind == "sublist" else None
        try:
            return self._coerce(path, spec, value)
        except (InvalidOperation, ValueError, TypeError, KeyError, AttributeError):
            raise RecordError(
                400, "INVALID_FLD_VALUE", f"Invalid value for {path}: {value!r}."
            ) from None

    def _coerce(self, path: str, spec: FieldSpec, value: Any) -> Any:
        kind = spec.kind
        if kind == "text":
            return str(value)
        if kind == "date":
            return date.fromisoformat(str(value)[:10])
        if kind == "datetime":
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
        if kind in ("money", "number"):
            if isinstance(value, bool):
                raise TypeError(path)
            return Decimal(str(value))
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError(path)
            return value
        if kind == "choice":
            key = str(value["id"] if isinstance(value, dict) else value)
            if key not in spec.choices:
                raise ValueError(path)
            return key
        if kind == "ref":
            assert spec.target is not None
            key = str(value["id"] if isinstance(value, dict) else value)
            if self.get(spec.target, key) is None:
                raise RecordError(
                    400,
                    "INVALID_KEY_OR_REF",
                    f"Invalid {path} reference key {key}: no such {spec.target}.",
                )
            return key
        items = value["items"] if isinstance(value, dict) else value
        lines = []
        for line in items:
            lines.append(
                {
                    name: self._parse_value(f"{path}.{name}", spec.items[name], item)
                    for name, item in line.items()
                    if self._known_line_field(path, spec, name)
                }
            )
        return lines

    @staticmethod
    def _known_line_field(path: str, spec: FieldSpec, name: str) -> bool:
        if name not in spec.items:
            raise RecordError(400, "INVALID_FIELD", f"Field '{name}' of {path} cannot be set.")
        return True

    # --- record API JSON ------------------------------------------------------------------

    def render(self, type_name: str, record: Record, base_url: str) -> dict[str, Any]:
        record_type = self.types[type_name]
        self_link = f"{base_url}/record/v1/{type_name}/{record['id']}"
        out: dict[str, Any] = {"links": [{"rel": "self", "href": self_link}], "id": record["id"]}
        for name, spec in record_type.fields.items():
            value = record.get(name)
            if value is None or (spec.kind == "sublist" and not value):
                continue
            if spec.kind == "sublist":
                out[name] = {
                    "links": [{"rel": "self", "href": f"{self_link}/{name}"}],
                    "items": [self._render_line(spec, line) for line in value],
                    "totalResults": len(value),
                }
            else:
                out[name] = self._render_value(spec, value)
        return out

    def _render_line(self, spec: FieldSpec, line: Record) -> dict[str, Any]:
        return {
            name: self._render_value(spec.items[name], value)
            for name, value in line.items()
            if value is not None
        }

    def _render_value(self, spec: FieldSpec, value: Any) -> Any:
        if spec.kind == "ref":
            assert spec.target is not None
            rendered = {"id": value}
            name = self.display(spec.target, value)
            return rendered if name is None else {**rendered, "refName": name}
        if spec.kind == "choice":
            return {"id": value, "refName": spec.choices[value]}
        if spec.kind in ("money", "number"):
            return float(value)
        if spec.kind == "datetime":
            return render_datetime(value)
        if spec.kind == "date":
            return value.isoformat()
        return value

    # --- SuiteQL tables -----------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The SuiteQL table `name`; raises KeyError when there is none."""
        type_name = self._table_owner[name]
        if type_name not in self._tables:
            self._tables[type_name] = dict(self._build_tables(type_name))
        return self._tables[type_name][name]

    def _build_tables(self, type_name: str) -> Iterator[tuple[str, Table]]:
        record_type = self.types[type_name]
        plain = {n: s for n, s in record_type.fields.items() if s.kind != "sublist"}
        columns = {"id": ("id", _ID), **{n.lower(): (n, s) for n, s in plain.items()}}
        records = self.all(type_name)
        # Rows of records that did not change since the last build are reused.
        cache = self._row_cache.setdefault(type_name, {})
        rows = []
        for record in records:
            row = cache.get(record["id"])
            if row is None or not row.shows(record):
                row = cache[record["id"]] = _RecordRow(self, record, columns)
            else:
                row.forget()  # the record may have been edited in place (`changed`)
            rows.append(row)
        table = Table(type_name, tuple(columns), rows, ("id",))
        yield type_name, self._with_key_lookups(type_name, _indexed(table, columns))
        for sub_name, spec in record_type.sublists().items():
            table_name = f"{type_name}{sub_name}".lower()
            sub_columns = {
                type_name: (type_name, _ID),
                "line": ("line", _ID),
                **{n.lower(): (n, s) for n, s in spec.items.items()},
            }
            sub_rows = [
                _RecordRow(self, {type_name: record["id"], "line": str(i), **line}, sub_columns)
                for record in records
                for i, line in enumerate(record.get(sub_name) or (), start=1)
            ]
            # Records come in id order and their lines in line order.
            ordered = (type_name, "line")
            table = Table(table_name, tuple(sub_columns), sub_rows, ordered)
            yield table_name, _indexed(table, sub_columns)

    def _with_key_lookups(self, type_name: str, table: Table) -> Table:
        """Answer `id IN` and `externalid IN` from the store's own maps, no index build."""
        cache, fallback = self._row_cache[type_name], table.lookup
        assert fallback is not None

        def lookup(column: str, values: Sequence[Any]) -> Sequence[Row] | None:
            if column == "id":
                keys = [_index_key(v) for v in values]
                if any(k is None for k in keys):
                    return None
                ids = {str(k) for k in keys}
            elif column == "externalid" and all(isinstance(v, str) for v in values):
                external = self._external[type_name]
                ids = {found for v in values if (found := external.get(v)) is not None}
            else:
                return fallback(column, values)
            return [cache[i] for i in sorted(ids, key=_sort_id) if i in cache]

        return Table(table.name, table.columns, table.rows, table.ordered_by, lookup)


_ID = FieldSpec("id")
_UNREAD = object()
Columns = Mapping[str, tuple[str, FieldSpec]]


def _indexed(table: Table, columns: Columns) -> Table:
    """`table` with hash indexes on its id and reference columns, built on first use."""
    indexes: dict[str, dict[Any, list[tuple[int, Row]]]] = {}

    def lookup(column: str, values: Sequence[Any]) -> Sequence[Row] | None:
        if columns[column][1].kind not in ("id", "ref"):
            return None
        keys = [_index_key(v) for v in values]
        if any(k is None for k in keys):
            return None
        index = indexes.get(column)
        if index is None:
            index = indexes[column] = {}
            for position, row in enumerate(table.rows):
                index.setdefault(row.get(column), []).append((position, row))
        hits = sorted(hit for k in set(keys) for hit in index.get(k, ()))
        return [row for _, row in hits]

    return Table(table.name, table.columns, table.rows, table.ordered_by, lookup)


def _index_key(value: Any) -> int | None:
    # Numeric ids only; anything else is left to a scan with full comparison rules.
    if type(value) is int:  # a subquery's ids, as the rows hold them
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class _RecordRow:
    """A record seen as a SuiteQL row, converted as columns are read.

    A column's value is kept once converted: an aggregate over a thousand jobs reads
    three columns of ~9,000 invoices. The store's tables are rebuilt after any change,
    and the rebuild makes each row it keeps `forget` them.
    """

    __slots__ = ("_columns", "_record", "_store", "_values")

    def __init__(self, store: RecordStore, record: Record, columns: Columns) -> None:
        self._store = store
        self._record = record
        self._columns = columns
        self._values: dict[str, Any] = {}

    def shows(self, record: Record) -> bool:
        return self._record is record

    def forget(self) -> None:
        self._values = {}

    def get(self, column: str) -> Any:
        value = self._values.get(column, _UNREAD)
        if value is _UNREAD:
            value = self._values[column] = self._convert(column)
        return value

    def _convert(self, column: str) -> Any:
        name, spec = self._columns[column]
        value = self._record.get(name)
        if value is None:
            return None
        kind = spec.kind
        if kind == "ref" or kind == "id":
            return int(value) if value.isdigit() else value
        if kind == "bool":
            return "T" if value else "F"
        return value

    def display(self, column: str) -> Any:
        name, spec = self._columns[column]
        value = self._record.get(name)
        if value is None:
            return None
        if spec.kind == "ref":
            assert spec.target is not None
            shown = self._store.display(spec.target, value)
            return _sql_id(value) if shown is None else shown
        if spec.kind == "choice":
            return spec.choices[value]
        return self.get(column)


def render_sql_value(value: Any) -> Any:
    """How SuiteQL's REST answer shows a value: text, ISO dates and timestamps."""
    if isinstance(value, datetime):
        return render_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
