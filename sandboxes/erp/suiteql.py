"""A small SuiteQL: the part of NetSuite's SQL dialect the ERP connector speaks.

    SELECT [DISTINCT] * | item [, item ...] FROM table
        [WHERE condition] [GROUP BY column, ...] [ORDER BY key [ASC|DESC], ...]

    item       column | BUILTIN.DF(column) | SUM|MIN|MAX|COUNT(column | *), each [[AS] alias]
    condition  OR, AND, NOT and parentheses over predicates:
               a = b, <>, !=, <, <=, >, >=; a [NOT] IN (literal, ...) or (SELECT one column ...);
               a IS [NOT] NULL; a [NOT] LIKE 'pattern'; a [NOT] BETWEEN low AND high
    literal    123, 12.5, 'text' ('' escapes a quote), NULL,
               TO_TIMESTAMP('2024-05-01 13:45:00.250', 'YYYY-MM-DD HH24:MI:SS.FF'),
               TO_DATE('2024-05-01', 'YYYY-MM-DD')

Unaliased expressions are named expr1, expr2, ... `parse` turns text into a `Query`;
`suiteql_engine.execute` runs one. Neither knows anything about records or HTTP.
`normal_form` tells texts that differ only in spacing or case to be the same query.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


class SuiteQLError(ValueError):
    """The query cannot be parsed or run; the message is fit for the caller."""


# --- the syntax tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    """BUILTIN.DF(column) or an aggregate; `argument` None means COUNT(*)."""

    function: str
    argument: Column | None


Operand = Column | Literal | Call


@dataclass(frozen=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class InList:
    operand: Operand
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class InQuery:
    operand: Operand
    query: Query
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    operand: Operand
    negated: bool = False


@dataclass(frozen=True)
class Like:
    operand: Operand
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand
    negated: bool = False


@dataclass(frozen=True)
class Logical:
    op: str  # AND | OR
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | InList | InQuery | IsNull | Like | Between | Logical | Not


@dataclass(frozen=True)
class SelectItem:
    expr: Operand
    name: str  # the output key


@dataclass(frozen=True)
class OrderKey:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    table: str
    items: tuple[SelectItem, ...]  # empty: SELECT *
    where: Condition | None = None
    group_by: tuple[str, ...] = ()
    order_by: tuple[OrderKey, ...] = ()
    distinct: bool = False

    @property
    def aggregated(self) -> bool:
        return bool(self.group_by) or any(is_aggregate(item.expr) for item in self.items)


AGGREGATES = frozenset({"SUM", "MIN", "MAX", "COUNT"})
FUNCTIONS = AGGREGATES | {"BUILTIN.DF"}


def is_aggregate(expr: Operand) -> bool:
    return isinstance(expr, Call) and expr.function in AGGREGATES


# --- parsing -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>'(?:[^']|'')*')
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*)
      | (?P<op><>|!=|>=|<=|[-=<>(),*])
    )""",
    re.VERBOSE,
)

KEYWORDS = frozenset(
    (
        "SELECT DISTINCT FROM WHERE AND OR NOT IN IS NULL LIKE BETWEEN GROUP ORDER BY ASC DESC AS"
    ).split()
)

_TIMESTAMP_FORMATS = {
    "YYYY-MM-DD HH24:MI:SS.FF": "%Y-%m-%d %H:%M:%S.%f",
    "YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # number string word op end
    text: str

    @property
    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "word" and upper in KEYWORDS else None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    stripped = text.rstrip().rstrip(";")
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise SuiteQLError(f"unexpected character at {position}: {stripped[position:][:20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    tokens.append(_Token("end", ""))
    return tokens


# A gateway sends the same statements again and again (a dashboard's aggregates over the
# same 1,000 ids on every refresh); tokenizing and parsing one of those took ~8 ms, as a
# database keeps the plans of statements it has seen. Both are pure, their results
# immutable; an error is not kept, and is raised again on the next call.
STATEMENTS_KEPT = 64


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def normal_form(text: str) -> str:
    """The query's tokens one space apart, words in lower case: texts with the same
    normal form parse to the same query, since the parser reads every word (keyword,
    name or function) without regard to case. Raises `SuiteQLError` as `parse` would
    on a character outside the language."""
    return " ".join(t.text.lower() if t.kind == "word" else t.text for t in _tokenize(text))


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def parse(text: str) -> Query:
    """Parse one SELECT statement; raise `SuiteQLError` on anything outside the subset."""
    parser = _Parser(_tokenize(text))
    query = parser.query()
    parser.expect_end()
    return query


@dataclass
class _Parser:
    tokens: list[_Token]
    position: int = 0
    _unnamed: int = field(default=0)

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.peek().keyword in words

    def accept_keyword(self, word: str) -> bool:
        if self.at_keyword(word):
            self.position += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.accept_keyword(word):
            raise SuiteQLError(f"expected {word}, found {self.peek().text or 'end of query'!r}")

    def accept_op(self, op: str) -> bool:
        token = self.peek()
        if token.kind == "op" and token.text == op:
            self.position += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise SuiteQLError(f"expected {op!r}, found {self.peek().text or 'end of query'!r}")

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            raise SuiteQLError(f"unexpected {self.peek().text!r} after the query")

    def identifier(self) -> str:
        token = self.take()
        if token.kind != "word" or token.keyword is not None or "." in token.text:
            raise SuiteQLError(f"expected a name, found {token.text or 'end of query'!r}")
        return token.text.lower()

    # SELECT ... FROM ... WHERE ... GROUP BY ... ORDER BY ...
    def query(self) -> Query:
        self._unnamed = 0
        self.expect_keyword("SELECT")
        distinct = self.accept_keyword("DISTINCT")
        items: tuple[SelectItem, ...] = ()
        if not self.accept_op("*"):
            items = self.select_items()
        self.expect_keyword("FROM")
        table = self.identifier()
        where = self.condition() if self.accept_keyword("WHERE") else None
        group_by: tuple[str, ...] = ()
        if self.accept_keyword("GROUP"):
            self.expect_keyword("BY")
            group_by = self.names()
        order_by: list[OrderKey] = []
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            while True:
                name = self.identifier()
                descending = self.accept_keyword("DESC")
                if not descending:
                    self.accept_keyword("ASC")
                order_by.append(OrderKey(name, descending))
                if not self.accept_op(","):
                    break
        return Query(table, items, where, group_by, tuple(order_by), distinct)

    def names(self) -> tuple[str, ...]:
        names = [self.identifier()]
        while self.accept_op(","):
            names.append(self.identifier())
        return tuple(names)

    def select_items(self) -> tuple[SelectItem, ...]:
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        return tuple(items)

    def select_item(self) -> SelectItem:
        expr = self.operand()
        if self.accept_keyword("AS") or (
            self.peek().kind == "word" and self.peek().keyword is None
        ):
            return SelectItem(expr, self.identifier())
        if isinstance(expr, Column):
            return SelectItem(expr, expr.name)
        self._unnamed += 1
        return SelectItem(expr, f"expr{self._unnamed}")

    # conditions, loosest binding first
    def condition(self) -> Condition:
        parts = [self.conjunction()]
        while self.accept_keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Logical("OR", tuple(parts))

    def conjunction(self) -> Condition:
        parts = [self.negation()]
        while self.accept_keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Logical("AND", tuple(parts))

    def negation(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.negation())
        return self.predicate()

    def predicate(self) -> Condition:
        if self.accept_op("("):
            inner = self.condition()
            self.expect_op(")")
            return inner
        left = self.operand()
        if self.accept_keyword("IS"):
            negated = self.accept_keyword("NOT")
            self.expect_keyword("NULL")
            return IsNull(left, negated)
        negated = self.accept_keyword("NOT")
        if self.accept_keyword("IN"):
            return self.membership(left, negated)
        if self.accept_keyword("LIKE"):
            pattern = self.literal_value()
            if not isinstance(pattern, str):
                raise SuiteQLError("LIKE needs a text pattern")
            return Like(left, pattern, negated)
        if self.accept_keyword("BETWEEN"):
            low = self.operand()
            self.expect_keyword("AND")
            return Between(left, low, self.operand(), negated)
        if negated:
            raise SuiteQLError("NOT must be followed by IN, LIKE or BETWEEN here")
        token = self.take()
        if token.kind != "op" or token.text not in {"=", "<>", "!=", "<", "<=", ">", ">="}:
            raise SuiteQLError(f"expected a comparison, found {token.text or 'end of query'!r}")
        op = "<>" if token.text == "!=" else token.text
        return Compare(op, left, self.operand())

    def membership(self, left: Operand, negated: bool) -> Condition:
        self.expect_op("(")
        if self.at_keyword("SELECT"):
            saved = self._unnamed
            inner = self.query()
            self._unnamed = saved
            self.expect_op(")")
            if len(inner.items) != 1:
                raise SuiteQLError("a subquery after IN must select exactly one column")
            return InQuery(left, inner, negated)
        values = [self.literal_value()]
        while self.accept_op(","):
            values.append(self.literal_value())
        self.expect_op(")")
        if len(values) > 1000:
            raise SuiteQLError("an IN list may hold at most 1000 values")
        return InList(left, tuple(values), negated)

    # operands
    def operand(self) -> Operand:
        token = self.peek()
        if token.kind == "word" and token.keyword is None:
            upper = token.text.upper()
            if upper in ("TO_TIMESTAMP", "TO_DATE"):
                return Literal(self.literal_value())
            if upper in FUNCTIONS:
                self.take()
                return self.call(upper)
            return Column(self.identifier())
        return Literal(self.literal_value())

    def call(self, function: str) -> Call:
        self.expect_op("(")
        if function == "COUNT" and self.accept_op("*"):
            self.expect_op(")")
            return Call(function, None)
        argument = Column(self.identifier())
        self.expect_op(")")
        return Call(function, argument)

    def literal_value(self) -> Any:
        token = self.take()
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "op" and token.text == "-" and self.peek().kind == "number":
            return -Decimal(self.take().text)
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.keyword == "NULL":
            return None
        if token.kind == "word" and token.text.upper() in ("TO_TIMESTAMP", "TO_DATE"):
            return self.conversion(token.text.upper())
        raise SuiteQLError(f"expected a value, found {token.text or 'end of query'!r}")

    def conversion(self, function: str) -> date | datetime:
        self.expect_op("(")
        text, fmt = self.string(), None
        if self.accept_op(","):
            fmt = self.string()
        self.expect_op(")")
        try:
            if function == "TO_DATE":
                if fmt not in (None, "YYYY-MM-DD"):
                    raise SuiteQLError(f"TO_DATE format {fmt!r} is not supported")
                return date.fromisoformat(text)
            pattern = _TIMESTAMP_FORMATS.get(fmt or "YYYY-MM-DD HH24:MI:SS.FF")
            if pattern is None:
                raise SuiteQLError(f"TO_TIMESTAMP format {fmt!r} is not supported")
            # FF takes up to nine digits; Python keeps six.
            text = re.sub(r"(\.\d{6})\d+$", r"\1", text)
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError as error:
            if isinstance(error, SuiteQLError):
                raise
            raise SuiteQLError(f"{function}({text!r}) does not match its format") from error

    def string(self) -> str:
        token = self.take()
        if token.kind != "string":
            raise SuiteQLError(f"expected a quoted string, found {token.text!r}")
        return token.text[1:-1].replace("''", "'")
