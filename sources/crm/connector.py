"""The CRM connector: Salesforce REST, read as canonical Accounts, Opportunities and Contacts.

- get_many: sObject collections (POST, up to 2,000 ids a call), aligned with the ids asked;
- list: SOQL ordered by Id, paged by an `Id > last` keyset (OFFSET stops at 2,000), with
  the total from `totalSize`, so every page costs one call;
- changes: `/sobjects/{type}/updated` from the cursor (a `latestDateCovered`), then the
  changed records by id;
- writes, each safe to repeat except `create_opportunity`: update, upsert by external id.

`settings.base_url` is the org's host (its My Domain); the API version path is ours to add.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Self
from urllib.parse import quote as quote_path

import httpx
import msgspec

from sources.config import SourceSettings
from sources.connector import ChangeSet, Connector, Page
from sources.crm import SYSTEM, ids
from sources.crm.auth import ClientCredentialsAuth
from sources.crm.classify import classify
from sources.crm.formats import API_PATH, TOKEN_PATH, format_datetime, stage_labels
from sources.crm.mapping import ACCOUNT, MAPPINGS, OPPORTUNITY, SObjectMapping
from sources.crm.soql import contains_pattern, quote
from sources.errors import SourceDataError
from sources.http import SourceClient
from sources.memo import PER_ENTITY, RecordMemo
from sources.records import Account, Contact, Opportunity, Record, SourceSystem

MAX_IDS_PER_CALL = SYSTEM.batch_max
QUERY_BATCH = (200, 2000)  # Sforce-Query-Options batchSize bounds
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
Rows = list[dict[str, Any]]  # JSON records; named here because `list` is a method below
RawRows = list[msgspec.Raw]  # records as Salesforce's own bytes
_FILTERS = {
    "account": {"search"},
    "opportunity": {"account_id", "stage"},
    "contact": {"account_id"},
}


@dataclass(frozen=True)
class Upserted:
    id: str
    created: bool


class CrmConnector(Connector):
    system = SourceSystem.CRM
    entities = {"account": Account, "opportunity": Opportunity, "contact": Contact}
    batch_limit = MAX_IDS_PER_CALL

    def __init__(
        self, settings: SourceSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        credentials = settings.credentials
        if not credentials.client_id or credentials.client_secret is None:
            raise ValueError("the CRM needs credentials.client_id and credentials.client_secret")
        self.root = settings.base_url.rstrip("/")
        self.auth = ClientCredentialsAuth(
            f"{self.root}{TOKEN_PATH}",
            credentials.client_id,
            credentials.client_secret.get_secret_value(),
        )
        self._chunk = min(settings.batch_size or MAX_IDS_PER_CALL, MAX_IDS_PER_CALL)
        self._http = SourceClient(
            self.system,
            settings.model_copy(update={"base_url": f"{self.root}{API_PATH}"}),
            auth=self.auth,
            classify=classify,
            transport=transport,
        )
        # A row seen before, byte for byte, gives back the record made from it (see
        # sources.memo); answers keep each row as Salesforce's own bytes (`_ANSWER`).
        self._remembered = {
            entity: RecordMemo(partial(_record_from_raw, mapping, self.root), PER_ENTITY, key=bytes)
            for entity, mapping in MAPPINGS.items()
        }

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:  # typed as the CRM connector, writes included
        return self

    # --- reads ---------------------------------------------------------------------------

    async def get_many(self, entity: str, ids_: Sequence[str]) -> list[Record | None]:
        _mapping(entity)  # an unknown entity is refused before any request
        keys = [_normalised(record_id) for record_id in ids_]
        wanted = list(dict.fromkeys(key for key in keys if key is not None))
        chunks = [wanted[i : i + self._chunk] for i in range(0, len(wanted), self._chunk)]
        found: dict[str, Record] = {}
        for records in await asyncio.gather(*(self._retrieve(entity, c) for c in chunks)):
            found.update(records)
        return [found.get(key) if key else None for key in keys]

    async def _retrieve(self, entity: str, chunk: list[str]) -> dict[str, Record]:
        mapping, make = MAPPINGS[entity], self._remembered[entity]
        response = await self._http.request(
            "POST",
            f"/composite/sobjects/{mapping.sobject}",
            json={"ids": chunk, "fields": list(mapping.fields)},
            idempotent=True,  # a read, sent as POST only to fit 2,000 ids
        )
        rows = self._http.parse_json(response, _ALIGNED.decode)
        if not isinstance(rows, list) or len(rows) != len(chunk):
            raise SourceDataError(self.system, "sObject collection not aligned with the ids")
        found = {}
        for record_id, row in zip(chunk, rows, strict=True):
            if row != _NULL:
                record = make(row)
                if record.id != record_id:
                    raise SourceDataError(self.system, f"asked for {record_id}, got {record.id}")
                found[record_id] = record
        return found

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        """One page in Id order.

        Filters: account {"search": text in Name}; opportunity {"account_id": id or ids,
        "stage": canonical stage}; contact {"account_id": id or ids}.
        """
        mapping = _mapping(entity)
        size = max(1, min(page_size, QUERY_BATCH[1]))
        seen, after = _read_cursor(cursor)
        conditions = _conditions(entity, filters or {})
        if conditions is None:
            return Page([], None, 0)
        if after is not None:
            conditions.append(f"Id > {quote(after)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        soql = f"SELECT {', '.join(mapping.fields)} FROM {mapping.sobject}{where} ORDER BY Id"
        rows, remaining = await self._query(soql, wanted=size)
        items = list(map(self._remembered[entity], rows))
        more = remaining > len(items) and bool(items)
        next_cursor = f"{seen + len(items)}:{items[-1].id}" if more else None
        return Page(items, next_cursor, seen + remaining)

    async def query(self, soql: str, *, max_rows: int = QUERY_BATCH[1]) -> Rows:
        """Up to `max_rows` JSON records of any SOQL query, for reads beyond the entities."""
        rows, _ = await self._query(soql, wanted=max_rows)
        found = [msgspec.json.decode(row) for row in rows]
        if not all(isinstance(row, dict) for row in found):
            raise SourceDataError(self.system, "query answer with a record that is not an object")
        return [{k: v for k, v in row.items() if k != "attributes"} for row in found]

    async def _query(self, soql: str, *, wanted: int) -> tuple[RawRows, int]:
        """The first `wanted` rows of a query (as Salesforce's bytes) and its totalSize,
        following nextRecordsUrl."""
        batch = max(QUERY_BATCH[0], min(wanted, QUERY_BATCH[1]))
        response = await self._http.request(
            "GET",
            "/query",
            params={"q": soql},
            headers={"Sforce-Query-Options": f"batchSize={batch}"},
        )
        body = self._http.parse_json(response, _ANSWER.decode)
        rows, total = _query_rows(body), _total(body)
        while len(rows) < wanted and body.done is False:
            next_url = body.nextRecordsUrl
            if not isinstance(next_url, str) or not next_url.startswith("/services/"):
                raise SourceDataError(self.system, "query not done but no nextRecordsUrl")
            response = await self._http.request("GET", f"{self.root}{next_url}")
            body = self._http.parse_json(response, _ANSWER.decode)
            rows.extend(_query_rows(body))
        return rows[:wanted], total

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        """Records whose SystemModstamp is at or after the cursor (a Salesforce dateTime)."""
        mapping = _mapping(entity)
        now = datetime.now(UTC)
        if cursor is None:
            return ChangeSet([], format_datetime(now))  # whole milliseconds, rounded down
        end = now + timedelta(microseconds=-now.microsecond % 1000)  # rounded up
        body = await self._http.json(
            "GET",
            f"/sobjects/{mapping.sobject}/updated/",
            params={"start": cursor, "end": format_datetime(end)},
        )
        if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
            raise SourceDataError(self.system, "updated answer without ids")
        covered = body.get("latestDateCovered")
        if not isinstance(covered, str):
            raise SourceDataError(self.system, "updated answer without latestDateCovered")
        changed = [str(record_id) for record_id in body["ids"]]
        records = await self.get_many(entity, changed)
        return ChangeSet(
            records=[record for record in records if record is not None],
            cursor=covered,
            deleted_ids=[i for i, record in zip(changed, records, strict=True) if record is None],
        )

    # --- writes --------------------------------------------------------------------------

    async def update_opportunity(self, opportunity_id: str, fields: Mapping[str, Any]) -> None:
        """Set canonical fields (stage, amount, psa_project_id, ...); safe to repeat."""
        await self._http.request(
            "PATCH",
            f"/sobjects/{OPPORTUNITY.sobject}/{ids.to_18(opportunity_id)}",
            json=OPPORTUNITY.to_sobject(fields),
            idempotent=True,
        )

    async def set_opportunity_project(self, opportunity_id: str, psa_project_id: str) -> None:
        """Write the PSA project's id back onto the opportunity it delivers."""
        await self.update_opportunity(opportunity_id, {"psa_project_id": psa_project_id})

    async def close_opportunity_won(self, opportunity_id: str) -> None:
        await self.update_opportunity(opportunity_id, {"stage": "CLOSED_WON"})

    async def create_opportunity(self, fields: Mapping[str, Any]) -> str:
        """Create from canonical fields (account_id, name, stage, close_date required).

        Sent once, never retried: a repeat would create a second opportunity.
        """
        body = await self._http.json(
            "POST",
            f"/sobjects/{OPPORTUNITY.sobject}",
            json=OPPORTUNITY.to_sobject(fields),
            idempotent=False,
        )
        return _created_id(body)

    async def upsert_account_by_external_id(
        self, field: str, value: str, fields: Mapping[str, Any]
    ) -> Upserted:
        """Create or update the account whose external id `field` (e.g. Psgraph_Key__c)
        is `value`; safe to repeat. Several matches raise SourceRejected (status 300)."""
        if not _FIELD_NAME.match(field):
            raise ValueError(f"not a Salesforce field name: {field!r}")
        if "/" in value or not value:
            # the REST path cannot carry a slash, even encoded
            raise ValueError(f"external id {value!r} cannot be upserted through the REST path")
        path = f"/sobjects/{ACCOUNT.sobject}/{field}/{quote_path(value, safe='')}"
        response = await self._http.request(
            "PATCH", path, json=ACCOUNT.to_sobject(fields), idempotent=True
        )
        body = self._http.parse_json(response)
        if body is None:  # older API versions answer an update with 204 and no body
            rows, _ = await self._query(
                f"SELECT Id FROM {ACCOUNT.sobject} WHERE {field} = {quote(value)}", wanted=1
            )
            if not rows:
                raise SourceDataError(self.system, f"upserted account {value!r} not found")
            return Upserted(_created_id(rows[0], key="Id"), created=False)
        return Upserted(_created_id(body), created=response.status_code == 201)


def _mapping(entity: str) -> SObjectMapping:
    try:
        return MAPPINGS[entity]
    except KeyError:
        raise ValueError(f"CRM has no entity {entity!r}") from None


def _normalised(record_id: str) -> str | None:
    return ids.to_18(record_id) if ids.is_valid(record_id) else None


def _read_cursor(cursor: str | None) -> tuple[int, str | None]:
    """A page cursor is "<records before it>:<last Id>"."""
    if cursor is None:
        return 0, None
    seen, _, last = cursor.partition(":")
    if not seen.isdigit() or not ids.is_valid(last):
        raise ValueError(f"not a CRM page cursor: {cursor!r}")
    return int(seen), ids.to_18(last)


def _conditions(entity: str, filters: Mapping[str, Any]) -> list[str] | None:
    """SOQL conditions for the filters; None when they can match nothing."""
    allowed = _FILTERS[entity]
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise ValueError(f"CRM {entity} cannot be filtered by {', '.join(unknown)}")
    conditions = []
    if filters.get("search"):
        conditions.append(f"Name LIKE {contains_pattern(str(filters['search']))}")
    if "account_id" in filters:
        given = filters["account_id"]
        account_ids = [given] if isinstance(given, str) else list(given)
        valid = sorted({key for i in account_ids if (key := _normalised(str(i)))})
        if not valid:
            return None
        conditions.append(f"AccountId IN ({', '.join(quote(i) for i in valid)})")
    if filters.get("stage"):
        conditions.append(_stage_condition(str(filters["stage"])))
    return conditions


def _stage_condition(stage: str) -> str:
    # Closed stages go by the flags, so an org's own closed labels are found too.
    if stage == "CLOSED_WON":
        return "IsWon = TRUE"
    if stage == "CLOSED_LOST":
        return "IsClosed = TRUE AND IsWon = FALSE"
    return f"StageName IN ({', '.join(quote(label) for label in stage_labels(stage))})"


class _QueryAnswer(msgspec.Struct):
    """A query's answer, each record kept as Salesforce's own JSON bytes: finding where
    each begins and ends is all a page costs until the memo meets bytes it has not seen."""

    records: list[msgspec.Raw] | dict[str, Any] | str | int | float | bool | None = None
    totalSize: Any = None
    done: Any = True
    nextRecordsUrl: Any = None


# What is not an object decodes as itself, and fails the answer's checks.
_ANSWER = msgspec.json.Decoder(_QueryAnswer | list[Any] | str | int | float | bool | None)
_ALIGNED = msgspec.json.Decoder(
    list[msgspec.Raw] | dict[str, Any] | str | int | float | bool | None
)
_NULL = msgspec.Raw(b"null")  # an id the collection has no record for


def _record_from_raw(mapping: SObjectMapping, root: str, raw: msgspec.Raw) -> Record:
    return mapping.record(msgspec.json.decode(raw), deep_link_root=root)


def _query_rows(body: Any) -> RawRows:
    if not isinstance(body, _QueryAnswer) or not isinstance(body.records, list):
        raise SourceDataError(SourceSystem.CRM, "query answer without records")
    return list(body.records)


def _total(body: _QueryAnswer) -> int:
    total = body.totalSize
    if not isinstance(total, int) or isinstance(total, bool):
        raise SourceDataError(SourceSystem.CRM, "query answer without totalSize")
    return total


def _created_id(body: Any, key: str = "id") -> str:
    if not isinstance(body, dict) or not isinstance(body.get(key), str):
        raise SourceDataError(SourceSystem.CRM, f"write answer without an {key}")
    return ids.to_18(body[key])


CONNECTOR = CrmConnector
