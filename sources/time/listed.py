"""Pages of time entries and expenses, decoded as views of the fields records are made of.

A month of a firm's time is thousands of entries of ~750 bytes, each naming its client,
project, task, invoice and rates, of which `mapping` reads a dozen fields. Decoding a
page into frozen views of just those fields (msgspec skips the rest without building
them) costs ~40% of parsing every field into dicts, and a view is its own `RecordMemo`
key: two equal views make equal records, so no digest of the object's JSON is taken.

A field the vendor left out stays left out (`UNSET`, which `to_builtins` drops), so the
mapper sees what it would have seen in the full object and says the same of what is
missing. A field of the wrong shape where a view expects an object fails the page with
msgspec's own account of where (`$.time_entries[3].user`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from sources.records import Record
from sources.time.harvest import RESOURCES
from sources.time.mapping import to_record


class _Reference(msgspec.Struct, frozen=True):
    id: Any = UNSET


class _Project(msgspec.Struct, frozen=True):
    id: Any = UNSET
    code: Any = UNSET


class _Client(msgspec.Struct, frozen=True):
    currency: Any = UNSET


class _Category(msgspec.Struct, frozen=True):
    name: Any = UNSET


class TimeEntryView(msgspec.Struct, frozen=True):
    """What `mapping.time_entry_from` reads."""

    id: Any = UNSET
    updated_at: Any = UNSET
    user: _Reference | UnsetType | None = UNSET
    project: _Project | UnsetType | None = UNSET
    spent_date: Any = UNSET
    hours: Any = UNSET
    billable: Any = UNSET
    approval_status: Any = UNSET
    is_billed: Any = UNSET
    notes: Any = UNSET
    approved_at: Any = UNSET
    external_reference: _Reference | UnsetType | None = UNSET


class ExpenseView(msgspec.Struct, frozen=True):
    """What `mapping.expense_from` reads."""

    id: Any = UNSET
    updated_at: Any = UNSET
    user: _Reference | UnsetType | None = UNSET
    project: _Project | UnsetType | None = UNSET
    spent_date: Any = UNSET
    total_cost: Any = UNSET
    currency: Any = UNSET
    client: _Client | UnsetType | None = UNSET
    billable: Any = UNSET
    approval_status: Any = UNSET
    is_billed: Any = UNSET
    expense_category: _Category | UnsetType | None = UNSET


VIEWS: dict[str, type[msgspec.Struct]] = {"time_entry": TimeEntryView, "expense": ExpenseView}


def _page_decoder(entity: str) -> msgspec.json.Decoder[Any]:
    items: Any = list[VIEWS[entity]] | UnsetType  # type: ignore[valid-type]
    page = msgspec.defstruct(
        f"{VIEWS[entity].__name__}Page",
        [(RESOURCES[entity], items, UNSET), ("links", Any, UNSET), ("total_entries", Any, UNSET)],
    )
    return msgspec.json.Decoder(page)


_DECODERS = {entity: _page_decoder(entity) for entity in VIEWS}


def decode_page(entity: str, content: bytes) -> dict[str, Any]:
    """A page's body as the connector reads one: the list of views under the entity's
    key, `links` and `total_entries`, each only if the vendor sent it. Raises msgspec's
    DecodeError (a ValueError) for what is not JSON or not the shape of a page."""
    page = _DECODERS[entity].decode(content)
    return {
        name: value
        for name in page.__struct_fields__
        if (value := getattr(page, name)) is not UNSET
    }


def record_from_view(entity: str, view: Any) -> Record:
    """`mapping.to_record` of the object the view was decoded from."""
    return to_record(entity, msgspec.to_builtins(view))
