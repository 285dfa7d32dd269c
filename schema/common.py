"""Types every part of the schema shares: Node, money, system references, conflicts,
Relay connections, and the enums of the contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar, cast

import strawberry
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.types.nodes import SelectedField, Selection
from strawberry.utils.str_converters import to_camel_case

from resolvers import values
from resolvers.authority import Conflict
from resolvers.connections import Cursor, Window
from resolvers.context import RequestContext
from sources.errors import SourceDataError
from sources.records import SourceSystem as System

T = TypeVar("T")
V = TypeVar("V")
E = TypeVar("E", bound=Enum)
F = TypeVar("F", bound=Callable[..., Any])

GatewayInfo = Info[RequestContext, None]


def context(info: GatewayInfo) -> RequestContext:
    return info.context


def at_once(
    found: tuple[bool, V | None],
    of: Callable[[V], T],
    later: Callable[..., Awaitable[Any]],
    *args: Any,
) -> T | None:
    """A field's answer without a coroutine when the request has already read what it
    shows: `found` is `(read, value)` from a `*_if_read` peek, and the answer `of(value)`
    (None stays None). Not read yet (or its read failed): `later(*args)`, which
    graphql-core awaits, as an `async` resolver's answer. The fields of a page read ahead
    (Query.projects, Query.invoices) answer this way."""
    read, value = found
    if read:
        return of(value) if value is not None else None
    return later(*args)  # type: ignore[return-value]


def selected(info: GatewayInfo) -> frozenset[str]:
    """The names of the fields selected under the one being resolved (through fragments
    too), worked out once per request for each place in the query."""
    where = tuple(part for part in info.path.as_list() if isinstance(part, str))
    memo = info.context.selections
    names = memo.get(where)
    if names is None:
        names = memo[where] = frozenset(
            name for field in info.selected_fields for name in _names(field.selections)
        )
    return names


def selects(info: GatewayInfo, *path: str) -> bool:
    """Whether the query selects `path` below the field being resolved (through fragments
    too): `selects(info, "edges", "node", "client")` on a connection."""
    return bool(_at(info, path))


def selected_below(info: GatewayInfo, *path: str) -> set[str]:
    """The names the query selects below `path` (through fragments too):
    `selected_below(info, "edges", "node")` on a connection gives its rows' fields."""
    return {child.name for field in _at(info, path) for child in _fields(field.selections)}


def answered_by_the_row(cls: type) -> frozenset[str]:
    """The fields of strawberry type `cls` that a row answers from its own record,
    reading nothing more (those without a resolver)."""
    definition = get_object_definition(cls, strict=True)
    plain = {to_camel_case(f.python_name) for f in definition.fields if f.base_resolver is None}
    return frozenset({"__typename", *plain})


def arguments_at(info: GatewayInfo, *path: str) -> list[dict[str, Any]]:
    """The arguments of each field the query selects at `path` below the one being
    resolved (variables substituted, not yet checked): one per alias."""
    return [dict(field.arguments) for field in _at(info, path)]


def _at(info: GatewayInfo, path: Sequence[str]) -> list[SelectedField]:
    level = list(_fields(info.selected_fields))
    for name in path:
        level = [
            child for field in level for child in _fields(field.selections) if child.name == name
        ]
        if not level:
            break
    return level


def _fields(selections: Sequence[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # inline fragments and fragment spreads
            yield from _fields(selection.selections)


def _names(selections: Sequence[Selection]) -> Iterator[str]:
    return (field.name for field in _fields(selections))


def described(description: str) -> Callable[[F], F]:
    """`@described(...)`, typed for mypy."""
    return cast(Callable[[F], F], strawberry.field(description=description))


@strawberry.enum
class SourceSystem(Enum):
    CRM = "CRM"
    PSA = "PSA"
    HCM = "HCM"
    ERP = "ERP"
    TIME = "TIME"


@strawberry.enum
class OpportunityStage(Enum):
    PROSPECTING = "PROSPECTING"
    QUALIFICATION = "QUALIFICATION"
    PROPOSAL = "PROPOSAL"
    NEGOTIATION = "NEGOTIATION"
    CLOSED_WON = "CLOSED_WON"
    CLOSED_LOST = "CLOSED_LOST"


@strawberry.enum
class ProjectStatus(Enum):
    PLANNED = "PLANNED"
    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


@strawberry.enum
class MilestoneStatus(Enum):
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"
    BILLED = "BILLED"


@strawberry.enum
class StaffingRequestStatus(Enum):
    OPEN = "OPEN"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"


@strawberry.enum
class TimeEntryStatus(Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    INVOICED = "INVOICED"


@strawberry.enum
class InvoiceStatus(Enum):
    DRAFT = "DRAFT"
    POSTED = "POSTED"
    PAID = "PAID"
    VOID = "VOID"
    BLOCKED = "BLOCKED"


def enum_value(kind: type[E], value: str, system: System) -> E:
    """The enum member for a source's status text; a value outside the contract is the
    source's data error, not ours."""
    try:
        return kind(value)
    except ValueError:
        raise SourceDataError(system, f"unknown {kind.__name__} {value!r}") from None


def arg(value: Enum | None) -> str | None:
    """An enum argument's value as the sources spell it."""
    return None if value is None else str(value.value)


@strawberry.interface(description="An object with a stable, opaque global id.")
class Node:
    id: strawberry.ID


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, money: values.Money | None) -> Money | None:
        return None if money is None else cls(amount=money.amount, currency=money.currency)


def money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency)


@strawberry.type
class SystemRef:
    system: SourceSystem
    id: str
    url: str | None

    @classmethod
    def of(cls, ref: values.SystemRef) -> SystemRef:
        return cls(system=SourceSystem(ref.system.value), id=ref.id, url=ref.url)


@strawberry.type(
    description="Two systems disagree on a field: the owner's value is the one served."
)
class FieldConflict:
    field: str
    owner: SourceSystem
    owner_value: str | None
    system: SourceSystem
    value: str | None

    @classmethod
    def of(cls, conflict: Conflict) -> FieldConflict:
        return cls(
            field=conflict.field,
            owner=SourceSystem(conflict.owner.value),
            owner_value=conflict.owner_value,
            system=SourceSystem(conflict.system.value),
            value=conflict.value,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    at: strawberry.Private[str | Cursor]

    @strawberry.field
    def cursor(self) -> str:
        return str(self.at)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="How many items the whole list has; null when the source cannot count."
    )


def connection(window: Window[V], convert: Callable[[V], T]) -> Connection[T]:
    edges = [Edge(node=convert(item), at=cursor) for cursor, item in window.edges]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=window.has_next_page,
            has_previous_page=window.has_previous_page,
            start_cursor=str(edges[0].at) if edges else None,
            end_cursor=str(edges[-1].at) if edges else None,
        ),
        total_count=window.total_count,
    )


def conflicts(found: list[Conflict]) -> list[FieldConflict]:
    return [FieldConflict.of(c) for c in found]


def refs(found: list[values.SystemRef]) -> list[SystemRef]:
    return [SystemRef.of(r) for r in found]
