"""Running a parsed SuiteQL `Query` against tables its caller supplies.

Oracle's rules, as far as the subset reaches: a text value compared with a number or a
date is converted to that type, NULL never compares true (three-valued logic), ORDER BY
puts NULLs last ascending and first descending, aggregates skip NULLs, and an aggregate
over no rows still answers one row. Timestamps compare in UTC.

A `Table` may say which columns its rows are already in order of and offer a `lookup`
for `column IN (...)`, so the usual batch-by-id and by-reference queries need no full
scan, and those ordered by id (or by parent and line) no sort.

`evaluate` gives the whole `Answer` to a query, which a caller may keep and page through;
`execute` gives one page of it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sandboxes.erp.suiteql import (
    AGGREGATES,
    Between,
    Call,
    Column,
    Compare,
    Condition,
    InList,
    InQuery,
    IsNull,
    Like,
    Literal,
    Logical,
    Not,
    Operand,
    OrderKey,
    Query,
    SuiteQLError,
    is_aggregate,
)


class Row(Protocol):
    """One row of a table, however its owner keeps it."""

    def get(self, column: str) -> Any:
        """The column's value; None for NULL."""

    def display(self, column: str) -> Any:
        """What BUILTIN.DF(column) shows: a referenced record's name, else the value."""


@dataclass(frozen=True)
class DictRow:
    values: Mapping[str, Any]
    displays: Mapping[str, str] = field(default_factory=dict)

    def get(self, column: str) -> Any:
        return self.values.get(column)

    def display(self, column: str) -> Any:
        raw = self.values.get(column)
        return None if raw is None else self.displays.get(column, raw)


Lookup = Callable[[str, Sequence[Any]], Sequence[Row] | None]


@dataclass(frozen=True)
class Table:
    """A table's rows; `ordered_by` names the columns they are already sorted on
    (ascending, none of them NULL), and `lookup(column, values)` may answer
    `column IN values` from an index, in row order (None: no index, scan). What it
    answers must be exact: the rows it gives are not tested against that conjunct again."""

    name: str
    columns: tuple[str, ...]
    rows: Sequence[Row]
    ordered_by: tuple[str, ...] = ()
    lookup: Lookup | None = None


Tables = Callable[[str], Table]  # raises KeyError for an unknown table


@dataclass(frozen=True)
class Result:
    rows: list[dict[str, Any]]  # the page asked for
    total: int  # rows in the whole answer


class Answer:
    """A query's whole answer, in order; rows are projected a page at a time.

    Plain rows are sorted when first needed. A small first page of a big answer (a
    "latest change" probe) is picked without sorting the rest; any later page sorts
    them all once, since the pages after it will want the same order.
    """

    def __init__(
        self,
        rows: list[Any],
        project: Callable[[Any], dict[str, Any]],
        unsorted: _Order | None = None,
    ) -> None:
        self._rows = rows
        self._project = project
        self._unsorted = unsorted

    @property
    def total(self) -> int:
        return len(self._rows)

    def page(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows `offset` to `offset + limit` (all from `offset` without a limit)."""
        end = None if limit is None else offset + limit
        rows = self._rows
        if self._unsorted is not None:
            first = None if offset or end is None else self._unsorted.first(rows, end)
            if first is not None:
                return [self._project(row) for row in first[offset:end]]
            self._unsorted.sort(rows)
            self._unsorted = None
        return [self._project(row) for row in rows[offset:end]]


def execute(query: Query, tables: Tables, *, offset: int = 0, limit: int | None = None) -> Result:
    """Run `query` for one page; rows map output names to Python values (None kept)."""
    answer = evaluate(query, tables)
    return Result(answer.page(offset, limit), answer.total)


def evaluate(query: Query, tables: Tables) -> Answer:
    """Run `query` for its whole answer."""
    table = _table(tables, query.table)
    _check_columns(query, table)
    where = _answer_subqueries(query.where, tables) if query.where else None
    candidates, rest = _candidates(where, table)
    predicate = _compile(rest) if rest else None
    rows = [row for row in candidates if predicate is None or predicate(row) is True]
    if query.aggregated:
        results = _grouped(query, rows)
        _sort(results, query.order_by, lambda name: lambda result: result.get(name))
        return Answer(_distinct(results) if query.distinct else results, _as_is)
    aliases = {item.name: item.expr for item in query.items}
    get = lambda name: _getter(aliases.get(name, Column(name)))  # noqa: E731
    order = None if _presorted(query, table, aliases) else _Order(query.order_by, get)

    def project(row: Row) -> dict[str, Any]:
        return _project(query, table, row)

    if not query.distinct:
        return Answer(rows, project, order)
    if order is not None:
        order.sort(rows)
    return Answer(_distinct([project(row) for row in rows]), _as_is)


def _as_is(result: dict[str, Any]) -> dict[str, Any]:
    return result


def _distinct(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for result in results:
        unique.setdefault(tuple(result.values()), result)
    return list(unique.values())


def _presorted(query: Query, table: Table, aliases: Mapping[str, Operand]) -> bool:
    """True when the rows' own order is the one asked for: ORDER BY a leading part of
    `ordered_by`, ascending, each key the column itself (a stable sort on fewer keys
    keeps rows that tie in the order they came in)."""
    keys = query.order_by
    if len(keys) > len(table.ordered_by):
        return False
    for key, column in zip(keys, table.ordered_by, strict=False):
        if key.descending or key.name != column:
            return False
        if aliases.get(column, Column(column)) != Column(column):
            return False
    return True


def _table(tables: Tables, name: str) -> Table:
    try:
        return tables(name)
    except KeyError:
        raise SuiteQLError(f"Record '{name}' was not found.") from None


def _candidates(where: Condition | None, table: Table) -> tuple[Sequence[Row], Condition | None]:
    """The rows that may match, and what of `where` they must still pass: from an index
    when a conjunct is `col IN (...)` or `col = value` (every row the index gives passes
    that conjunct, so it is not tested again), else all of them and all of `where`."""
    if where is None or table.lookup is None:
        return table.rows, where
    parts = where.parts if isinstance(where, Logical) and where.op == "AND" else (where,)
    for i, part in enumerate(parts):
        column, values = None, None
        if isinstance(part, InList) and not part.negated and isinstance(part.operand, Column):
            column, values = part.operand.name, part.values
        elif isinstance(part, Compare) and part.op == "=":
            pair = (part.left, part.right)
            if isinstance(pair[1], Column):
                pair = (pair[1], pair[0])
            if isinstance(pair[0], Column) and isinstance(pair[1], Literal):
                column, values = pair[0].name, (pair[1].value,)
        if column is not None and values is not None:
            found = table.lookup(column, values)
            if found is not None:
                rest = parts[:i] + parts[i + 1 :]
                return found, (
                    None if not rest else rest[0] if len(rest) == 1 else Logical("AND", rest)
                )
    return table.rows, where


def _check_columns(query: Query, table: Table) -> None:
    known = set(table.columns)
    named = {item.name for item in query.items}
    wanted = [*_columns_in(query.where), *query.group_by]
    wanted += [item.expr.name for item in query.items if isinstance(item.expr, Column)]
    wanted += [
        item.expr.argument.name
        for item in query.items
        if isinstance(item.expr, Call) and item.expr.argument is not None
    ]
    wanted += [key.name for key in query.order_by if key.name not in named]
    for name in wanted:
        if name not in known:
            raise SuiteQLError(f"Field '{name}' for record '{table.name}' was not found.")
    if query.aggregated:
        for item in query.items:
            plain = item.expr.argument if isinstance(item.expr, Call) else item.expr
            if not is_aggregate(item.expr) and not (
                isinstance(plain, Column) and plain.name in query.group_by
            ):
                raise SuiteQLError(f"'{item.name}' is not a GROUP BY expression")


def _columns_in(condition: Condition | None) -> Iterator[str]:
    if condition is None:
        return
    if isinstance(condition, Logical):
        for part in condition.parts:
            yield from _columns_in(part)
    elif isinstance(condition, Not):
        yield from _columns_in(condition.part)
    else:
        operands: list[Operand] = [condition.operand] if not isinstance(condition, Compare) else []
        if isinstance(condition, Compare):
            operands = [condition.left, condition.right]
        elif isinstance(condition, Between):
            operands += [condition.low, condition.high]
        for operand in operands:
            if isinstance(operand, Column):
                yield operand.name
            elif isinstance(operand, Call) and operand.argument is not None:
                yield operand.argument.name


def _value(expr: Operand, row: Row) -> Any:
    if isinstance(expr, Column):
        return row.get(expr.name)
    if isinstance(expr, Literal):
        return expr.value
    if expr.function == "BUILTIN.DF" and expr.argument is not None:
        return row.display(expr.argument.name)
    raise SuiteQLError(f"{expr.function} is an aggregate and needs GROUP BY context")


def _project(query: Query, table: Table, row: Row) -> dict[str, Any]:
    if not query.items:
        return {name: row.get(name) for name in table.columns}
    return {item.name: _value(item.expr, row) for item in query.items}


def _grouped(query: Query, rows: list[Row]) -> list[dict[str, Any]]:
    groups: dict[Any, list[Row]] = {}
    if len(query.group_by) == 1:  # the usual shape: one key per row, no tuple of it
        (name,) = query.group_by
        for row in rows:
            groups.setdefault(_hashable(row.get(name)), []).append(row)
    else:
        for row in rows:
            key = tuple(_hashable(row.get(name)) for name in query.group_by)
            groups.setdefault(key, []).append(row)
    if not query.group_by and not groups:
        groups[()] = []  # an aggregate over no rows still answers one row
    results = []
    for members in groups.values():
        result = {}
        for item in query.items:
            expr = item.expr
            if isinstance(expr, Call) and expr.function in AGGREGATES:
                result[item.name] = _aggregate(expr, members)
            else:
                result[item.name] = _value(expr, members[0])
        results.append(result)
    return results


def _aggregate(call: Call, rows: list[Row]) -> Any:
    if call.argument is None:
        return len(rows)
    values = [v for row in rows if (v := row.get(call.argument.name)) is not None]
    if call.function == "COUNT":
        return len(values)
    if not values:
        return None
    if call.function == "SUM":
        return sum((_number(v) for v in values), Decimal(0))
    pick = min if call.function == "MIN" else max
    try:
        return pick(values)
    except TypeError:  # mixed kinds: order them as ORDER BY would
        return pick(values, key=_sort_key)


def _sort(
    items: list[Any], keys: Sequence[OrderKey], getter: Callable[[str], Callable[[Any], Any]]
) -> None:
    """Order `items` in place.

    NULLs go last ascending and first descending, as in Oracle. Keys that share a
    direction sort in one pass; a change of direction needs a stable pass of its own,
    from the last group of keys to the first.
    """
    for descending, order in _passes(keys, getter):
        items.sort(key=order, reverse=descending)


_SortPass = tuple[bool, Callable[[Any], tuple[Any, ...]]]  # (descending, key)


def _passes(
    keys: Sequence[OrderKey], getter: Callable[[str], Callable[[Any], Any]]
) -> list[_SortPass]:
    """The stable sorts that order by `keys`, in the order they are to run."""
    groups: list[list[OrderKey]] = []
    for key in keys:
        if groups and groups[-1][0].descending == key.descending:
            groups[-1].append(key)
        else:
            groups.append([key])
    passes: list[_SortPass] = []
    for group in reversed(groups):
        getters = [getter(key.name) for key in group]

        def order(item: Any, getters: list[Callable[[Any], Any]] = getters) -> tuple[Any, ...]:
            return tuple(_null_last(get(item)) for get in getters)

        passes.append((group[0].descending, order))
    return passes


@dataclass(frozen=True)
class _Order:
    """An ORDER BY over rows, applied in full or only to find the first few."""

    keys: Sequence[OrderKey]
    getter: Callable[[str], Callable[[Any], Any]]

    def sort(self, items: list[Any]) -> None:
        _sort(items, self.keys, self.getter)

    def first(self, items: list[Any], count: int) -> list[Any] | None:
        """The first `count` of `items` in order, without sorting the rest, or None when
        that would not be cheaper than a full sort."""
        passes = _passes(self.keys, self.getter)
        if len(passes) != 1 or count * 4 >= len(items):
            return None
        descending, order = passes[0]
        # Both are documented to equal sorted(...)[:count], ties kept in input order.
        pick = heapq.nlargest if descending else heapq.nsmallest
        return pick(count, items, key=order)


def _getter(expr: Operand) -> Callable[[Row], Any]:
    if isinstance(expr, Column):
        name = expr.name
        return lambda row: row.get(name)
    return lambda row: _value(expr, row)


def _null_last(value: Any) -> tuple[Any, ...]:
    return (1, (0,)) if value is None else (0, _sort_key(value))


def _sort_key(value: Any) -> tuple[Any, ...]:
    if type(value) is int:
        return (0, value)
    if isinstance(value, bool):
        return (3, str(value))
    if isinstance(value, int | float | Decimal):
        return (0, Decimal(str(value)))
    if isinstance(value, datetime):
        return (1, _aware(value))
    if isinstance(value, date):
        return (1, datetime(value.year, value.month, value.day, tzinfo=UTC))
    return (2, str(value))


# --- predicates ----------------------------------------------------------------------------

Predicate = Callable[[Row], bool | None]  # None: unknown (a NULL was involved)


def _answer_subqueries(condition: Condition, tables: Tables) -> Condition:
    """`condition` with each `IN (SELECT ...)` replaced by the list of values the
    subquery answers, run once: the outer query can then find its rows through an index
    like any `IN (...)`, instead of scanning the table."""
    if isinstance(condition, Logical):
        parts = tuple(_answer_subqueries(part, tables) for part in condition.parts)
        return Logical(condition.op, parts)
    if isinstance(condition, Not):
        return Not(_answer_subqueries(condition.part, tables))
    if isinstance(condition, InQuery):
        column = condition.query.items[0].name
        values = tuple(r[column] for r in execute(condition.query, tables).rows)
        return InList(condition.operand, values, condition.negated)
    return condition


def _compile(condition: Condition) -> Predicate:
    """A row test for `condition`, whose subqueries `_answer_subqueries` has run."""
    if isinstance(condition, Logical):
        parts = [_compile(part) for part in condition.parts]
        return _connective(parts, decisive=condition.op != "AND")
    if isinstance(condition, Not):
        inner = _compile(condition.part)
        return lambda row: _negate(inner(row))
    if isinstance(condition, Compare):
        return _comparison(condition)
    if isinstance(condition, IsNull):
        operand, negated = condition.operand, condition.negated
        return lambda row: (_value(operand, row) is None) != negated
    if isinstance(condition, InQuery):
        raise AssertionError("subqueries are answered before compiling")
    if isinstance(condition, InList):
        return _membership(condition.operand, condition.values, condition.negated)
    if isinstance(condition, Like):
        return _like(condition)
    return _between(condition)


def _connective(parts: list[Predicate], decisive: bool) -> Predicate:
    """SQL's three-valued AND (decisive False) or OR (decisive True): the first decisive
    part settles it; else any unknown part makes it unknown; else it is `not decisive`."""

    def check(row: Row) -> bool | None:
        outcome: bool | None = not decisive
        for part in parts:
            result = part(row)
            if result is decisive:
                return decisive
            if result is None:
                outcome = None
        return outcome

    return check


def _negate(result: bool | None) -> bool | None:
    return None if result is None else not result


_OPS: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0,
    "<>": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _comparison(condition: Compare) -> Predicate:
    test, left, right = _OPS[condition.op], condition.left, condition.right
    if isinstance(left, Column) and isinstance(right, Literal) and right.value is not None:
        return _column_against_literal(test, left.name, right.value)

    def check(row: Row) -> bool | None:
        order = compare(_value(left, row), _value(right, row))
        return None if order is None else test(order)

    return check


def _column_against_literal(test: Callable[[int], bool], name: str, literal: Any) -> Predicate:
    # The common `column op value` shape, without the generic evaluation per row.
    def check(row: Row) -> bool | None:
        value = row.get(name)
        if value is None:
            return None
        order = compare(value, literal)
        return None if order is None else test(order)

    return check


def _between(condition: Between) -> Predicate:
    def check(row: Row) -> bool | None:
        value = _value(condition.operand, row)
        low = compare(value, _value(condition.low, row))
        high = compare(value, _value(condition.high, row))
        if low is None or high is None:
            return None
        return (low >= 0 and high <= 0) != condition.negated

    return check


def _like(condition: Like) -> Predicate:
    pattern = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in condition.pattern
    )
    matcher = re.compile(pattern, re.DOTALL)

    def check(row: Row) -> bool | None:
        value = _value(condition.operand, row)
        if value is None:
            return None
        return (matcher.fullmatch(str(value)) is not None) != condition.negated

    return check


def _membership(operand: Operand, values: Sequence[Any], negated: bool) -> Predicate:
    # A set keeps 1000-id IN lists cheap (ints and Decimals hash alike); only a value of
    # another kind than the literals (text against numbers, say) is compared one by one.
    present = [v for v in values if v is not None]
    fast = {_hashable(v) for v in present}
    texts = [v for v in present if isinstance(v, str)]
    others = [v for v in present if not isinstance(v, str)]
    has_null = len(present) != len(values)

    def check(row: Row) -> bool | None:
        value = _value(operand, row)
        if value is None:
            return None
        if value in fast or (type(value) not in (int, str) and _hashable(value) in fast):
            return not negated
        foreign = others if isinstance(value, str) else texts
        if any(compare(value, v) == 0 for v in foreign):
            return not negated
        return None if has_null else negated

    return check


# --- comparing values of mixed types ----------------------------------------------------------


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 as in Oracle (text meets a number or date as that type); None with NULL."""
    if left is None or right is None:
        return None
    if type(left) is type(right):
        try:
            return int(left > right) - int(left < right)
        except TypeError:  # naive against aware datetimes: normalise below
            pass
    a, b = _coerce(left, right)
    try:
        return int(a > b) - int(a < b)
    except TypeError:
        raise SuiteQLError(f"inconsistent datatypes: {left!r} and {right!r}") from None


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    a, b = _normal(left), _normal(right)
    if isinstance(a, str) and not isinstance(b, str):
        a = _convert(a, b)
    elif isinstance(b, str) and not isinstance(a, str):
        b = _convert(b, a)
    if isinstance(a, datetime) or isinstance(b, datetime):
        a, b = _as_datetime(a), _as_datetime(b)
    return a, b


def _normal(value: Any) -> Any:
    if isinstance(value, bool):
        return "T" if value else "F"  # NetSuite's checkbox values
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return _aware(value)
    return value


def _convert(text: str, like: Any) -> Any:
    try:
        if isinstance(like, Decimal):
            return Decimal(text)
        if isinstance(like, datetime):
            return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
        if isinstance(like, date):
            return date.fromisoformat(text[:10])
    except (InvalidOperation, ValueError):
        raise SuiteQLError(f"invalid {type(like).__name__} value {text!r}") from None
    return text


def _as_datetime(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hashable(value: Any) -> Any:
    if type(value) is int:  # equal ints and Decimals hash and compare alike
        return value
    normal = _normal(value)
    return _as_datetime(normal)


def _number(value: Any) -> Decimal:
    if type(value) is Decimal:
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SuiteQLError(f"invalid number {value!r}") from None
