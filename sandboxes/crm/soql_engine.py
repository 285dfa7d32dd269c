"""The small subset of SOQL the CRM sandbox understands: parsing and matching.

    SELECT Id, Name FROM Account
      [WHERE cond AND cond ...]      cond: f = v | f != v | f < v ... | f [NOT] IN (v, ...)
                                           | f LIKE 'pat%'
      [ORDER BY f [ASC|DESC], ...] [LIMIT n] [OFFSET n]
    SELECT COUNT() FROM Account [WHERE ...]

Values are 'strings', numbers, TRUE/FALSE, NULL, dates (2024-01-31) and unquoted
datetimes (2024-01-31T00:00:00Z). Parsing knows no schema: the sandbox checks field names
and value types against its objects. Anything outside the subset is a MALFORMED_QUERY.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sources.crm.formats import parse_datetime

Value = str | Decimal | bool | date | datetime | None

MAX_OFFSET = 2000  # Salesforce's own ceiling; deeper pages need a keyset condition

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


class SoqlError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Any  # a Value; a tuple of Values for IN; the raw pattern text for LIKE


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[str, ...]  # empty for COUNT()
    count: bool = False
    where: tuple[Condition, ...] = ()
    order_by: tuple[Ordering, ...] = ()
    limit: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class _Token:
    kind: str  # string datetime date number name op punct
    text: str
    at: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>[+-]?\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    """,
    re.VERBOSE | re.DOTALL,
)

_KEYWORDS = frozenset(
    "SELECT FROM WHERE AND OR NOT IN LIKE ORDER BY ASC DESC LIMIT OFFSET "
    "NULLS FIRST LAST TRUE FALSE NULL COUNT GROUP HAVING WITH".split()
)


def _tokens(text: str) -> Iterator[_Token]:
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected character at {at}: {text[at : at + 10]!r}"
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            yield _Token(kind, match.group(), at)
        at = match.end()


def parse(text: str) -> Query:
    """Parse one query of the subset; SoqlError("MALFORMED_QUERY") for anything else."""
    return _Parser(list(_tokens(text))).query()


@dataclass
class _Parser:
    tokens: list[_Token]
    at: int = 0
    _end: _Token = field(default_factory=lambda: _Token("end", "", -1))

    def peek(self) -> _Token:
        return self.tokens[self.at] if self.at < len(self.tokens) else self._end

    def take(self) -> _Token:
        token = self.peek()
        self.at += 1
        return token

    def fail(self, expected: str) -> SoqlError:
        token = self.peek()
        found = repr(token.text) if token.kind != "end" else "end of query"
        return SoqlError("MALFORMED_QUERY", f"expected {expected}, found {found}")

    def accept(self, *words: str) -> bool:
        """Consume the keywords if they come next."""
        ahead = self.tokens[self.at : self.at + len(words)]
        if [t.word for t in ahead] == list(words):
            self.at += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.fail(" ".join(words))

    def punct(self, char: str) -> bool:
        if self.peek().kind == "punct" and self.peek().text == char:
            self.at += 1
            return True
        return False

    def name(self, what: str) -> str:
        token = self.peek()
        if token.kind != "name" or token.word in _KEYWORDS:
            raise self.fail(what)
        self.at += 1
        return token.text

    def integer(self, what: str) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.at -= 1
            raise self.fail(what)
        return int(token.text)

    def query(self) -> Query:
        self.expect("SELECT")
        count = self.accept("COUNT")
        fields: list[str] = []
        if count:
            if not (self.punct("(") and self.punct(")")):
                raise self.fail("COUNT()")
        else:
            fields.append(self.name("a field name"))
            while self.punct(","):
                fields.append(self.name("a field name"))
        self.expect("FROM")
        sobject = self.name("an object name")
        where: list[Condition] = []
        if self.accept("WHERE"):
            where.append(self.condition())
            while self.accept("AND"):
                where.append(self.condition())
        order_by: list[Ordering] = []
        if self.accept("ORDER", "BY"):
            order_by.append(self.ordering())
            while self.punct(","):
                order_by.append(self.ordering())
        limit = self.integer("a row count") if self.accept("LIMIT") else None
        offset = self.integer("a row count") if self.accept("OFFSET") else None
        if self.peek().kind != "end":
            raise self.fail("end of query")
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        return Query(sobject, tuple(fields), count, tuple(where), tuple(order_by), limit, offset)

    def ordering(self) -> Ordering:
        name = self.name("a field name")
        if self.accept("DESC"):
            return Ordering(name, descending=True)
        self.accept("ASC")
        return Ordering(name)

    def condition(self) -> Condition:
        name = self.name("a field name")
        if self.accept("LIKE"):
            token = self.take()
            if token.kind != "string":
                self.at -= 1
                raise self.fail("a quoted LIKE pattern")
            return Condition(name, "LIKE", token.text[1:-1])
        negated = self.accept("NOT")
        if self.accept("IN"):
            if not self.punct("("):
                raise self.fail("(")
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
            if not self.punct(")"):
                raise self.fail(")")
            return Condition(name, "NOT IN" if negated else "IN", tuple(values))
        if negated:
            raise self.fail("IN")
        token = self.take()
        if token.kind != "op":
            self.at -= 1
            raise self.fail("a comparison operator")
        op = "!=" if token.text == "<>" else token.text
        value = self.value()
        if value is None and op not in ("=", "!="):
            raise SoqlError("MALFORMED_QUERY", f"null can only be compared with = or !=, not {op}")
        return Condition(name, op, value)

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return _unescape(token.text[1:-1])
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "date":
            try:
                return date.fromisoformat(token.text)
            except ValueError:
                raise SoqlError("MALFORMED_QUERY", f"bad date {token.text}") from None
        if token.kind == "datetime":
            try:
                return parse_datetime(token.text)
            except ValueError:
                raise SoqlError("MALFORMED_QUERY", f"bad dateTime {token.text}") from None
        literal = {"TRUE": True, "FALSE": False, "NULL": None}
        if token.word in literal:
            return literal[token.word]
        self.at -= 1
        raise self.fail("a value")


def _unescape(body: str) -> str:
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            # \% and \_ only mean something in LIKE; elsewhere they keep their backslash
            out.append(_ESCAPES.get(escaped, "\\" + escaped if escaped in "%_" else escaped))
        else:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=256)
def like_regex(pattern: str) -> re.Pattern[str]:
    """A raw LIKE pattern body as a case-insensitive regex: % any run, _ one char."""
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            parts.append(re.escape(_ESCAPES.get(escaped, escaped)))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# --- matching ------------------------------------------------------------------------

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def sort_key(value: Value) -> Any:
    """How SOQL orders and compares values: text ignores case (18-char ids included)."""
    return value.casefold() if isinstance(value, str) else value


def _equal(left: Value, right: Value) -> bool:
    if left is None or right is None:
        return left is right
    return bool(sort_key(left) == sort_key(right))


def matches(condition: Condition, value: Value) -> bool:
    """Whether a field's value satisfies the condition (values already of the field's type)."""
    op = condition.op
    if op == "LIKE":
        return isinstance(value, str) and like_regex(condition.value).fullmatch(value) is not None
    if op in ("IN", "NOT IN"):
        found = any(_equal(value, option) for option in condition.value)
        return found if op == "IN" else not found
    if op == "=":
        return _equal(value, condition.value)
    if op == "!=":
        return not _equal(value, condition.value)
    if value is None:
        return False
    return _ORDER[op](sort_key(value), sort_key(condition.value))
