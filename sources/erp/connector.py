"""The ERP connector: NetSuite's REST web services, answered in canonical records.

Reads go through SuiteQL (`POST /services/rest/query/v1/suiteql`, `Prefer: transient`):
by id with `WHERE id IN (...)`, 1000 ids a request; listings ordered by the unique id with
offset cursors; change scans on `lastmodifieddate` (see `cursors`); sublists (billing
schedule lines, payment applications) with one more query per batch. Aggregates for the
gateway (open receivables per customer, invoiced totals per job) are one grouped query per
1000 ids.

Writes are idempotent NetSuite's way: upserts by external id (`PUT .../eid:{id}`), and
invoice creation with `X-NetSuite-Idempotency-Key`, which makes the POST safe to retry.
After a write the connector reads the record back through SuiteQL.

Auth is an OAuth 2.0 access token from configuration (`credentials.token`); NetSuite's
machine-to-machine flow that mints such tokens from a signed JWT is out of scope.
`base_url` is the account's host root (`https://{account}.suitetalk.api.netsuite.com`).
"""

from __future__ import annotations

import asyncio
import builtins
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx

from sources.config import SourceSettings
from sources.connector import ChangeSet, Connector, NumberedCursors, Page, every_page
from sources.erp import SYSTEM, mapping, queries
from sources.erp.client import NetSuiteBearerAuth, classify, parse_body
from sources.erp.cursors import EPOCH, ChangePosition, decode_offset
from sources.erp.mapping import InvoiceLine, Row
from sources.erp.queries import EntityQuery, NoMatchError, entity_query
from sources.errors import SourceDataError, SourceRejected
from sources.http import SourceClient
from sources.memo import PER_ENTITY, RecordMemo, exact_digest
from sources.records import (
    BillingSchedule,
    BillingScheduleLine,
    Customer,
    Invoice,
    Job,
    Payment,
    Record,
    SourceSystem,
    TimePosting,
)

R = TypeVar("R", bound=Record)
T = TypeVar("T")

REST_PATH = "/services/rest"
SUITEQL_PATH = "/query/v1/suiteql"
PAGE_MAX = 1000
IDEMPOTENCY_HEADER = "X-NetSuite-Idempotency-Key"

__all__ = ["CONNECTOR", "ErpConnector", "InvoiceLine"]


class ErpConnector(Connector):
    system = SourceSystem.ERP
    entities: ClassVar[Mapping[str, type[Record]]] = {
        "customer": Customer,
        "job": Job,
        "billing_schedule": BillingSchedule,
        "invoice": Invoice,
        "payment": Payment,
        "time_posting": TimePosting,
    }
    batch_limit = SYSTEM.batch_max

    def __init__(
        self, settings: SourceSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        token = settings.credentials.token
        if token is None:
            raise ValueError("the ERP connector needs credentials.token (an OAuth 2.0 token)")
        rest = settings.model_copy(update={"base_url": settings.base_url.rstrip("/") + REST_PATH})
        self._client = SourceClient(
            self.system,
            rest,
            auth=NetSuiteBearerAuth(token.get_secret_value()),
            classify=classify,
            transport=transport,
        )
        self._batch = min(settings.batch_size or self.batch_limit, self.batch_limit)
        self._ui = mapping.ui_base(settings.base_url, settings.credentials.account_id)
        self._references: dict[str, dict[str, str]] = {}
        self._reference_lock = asyncio.Lock()
        # A row seen before with the same lines gives back the record made then
        # (sources.memo); SuiteQL's amounts are exact decimals, keyed as such.
        self._remembered = {
            entity: RecordMemo(partial(_read_row, read, self._ui), PER_ENTITY, key=exact_digest)
            for entity, read in mapping.READERS.items()
        }

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- reads -------------------------------------------------------------------------------

    async def get_many(self, entity: str, ids: Sequence[str]) -> builtins.list[Record | None]:
        """Records aligned with `ids`, None where NetSuite has none; 1000 ids a request."""
        query = entity_query(entity)
        wanted = queries.internal_ids(ids)
        batches = await asyncio.gather(
            *(self._read_ids(entity, query, chunk) for chunk in _chunks(wanted, self._batch))
        )
        found = {record.id: record for batch in batches for record in batch}
        return [found.get(str(i)) for i in ids]

    async def _read_ids(
        self, entity: str, query: EntityQuery, ids: Sequence[str]
    ) -> builtins.list[Record]:
        return await self._records(entity, query, await self._rows(queries.by_ids(query, ids)))

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        """One page in id order. Filters (lists of values, ANDed):
        customer {crm_account_id}; job {customer_id, psa_project_id}; invoice {customer_id,
        job_id, status}; billing_schedule {job_id}; payment {invoice_id, customer_id};
        time_posting {job_id, time_entry_id, invoice_id}."""
        query = entity_query(entity)
        if not 1 <= page_size <= PAGE_MAX:
            raise ValueError(f"page_size must be 1..{PAGE_MAX}")
        offset = decode_offset(cursor)
        try:
            where = queries.filter_clauses(entity, query, filters or {})
        except NoMatchError:
            return Page([], None, 0)
        statement = queries.select(query, where)
        few_parents = where and offset == 0 and queries.values_in(filters or {}) <= page_size
        if query.lines is not None and few_parents:
            # Records of a few parents (a batch of children): their lines, found by the
            # same filter, are asked for beside them, one round trip instead of two.
            # Unbounded filters do not guess: their lines could be many pages.
            rows, lines = await asyncio.gather(
                self._page(statement, limit=page_size),
                self._rows(queries.lines_where(query.lines, query.table, where)),
            )
            records = self._read(entity, query, rows.items, lines)
            return Page(records, rows.next_cursor, rows.total, rows.following)
        rows = await self._page(statement, limit=page_size, offset=offset)
        records = await self._records(entity, query, rows.items)
        return Page(records, rows.next_cursor, rows.total, rows.following)

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        """Records modified after the cursor, in modification order (see `cursors`)."""
        query = entity_query(entity)
        if cursor is None:
            latest = (await self._suiteql(queries.latest_change(query), limit=1)).rows
            if not latest:
                return ChangeSet([], ChangePosition(EPOCH).encode())
            return ChangeSet([], self._position(latest[-1]).encode())
        position = ChangePosition.decode(cursor)
        rows: builtins.list[Row] = []
        while True:
            statement = queries.changed_since(query, position.moment, position.after_id)
            answer = await self._suiteql(statement, limit=PAGE_MAX)
            rows.extend(answer.rows)
            if answer.rows:
                position = self._position(answer.rows[-1])
            if not answer.has_more:
                break
        records: builtins.list[Record] = []
        for chunk in _chunks(rows, self._batch):
            records.extend(await self._records(entity, query, chunk))
        return ChangeSet(records, position.encode())

    async def find_by_external_id(self, entity: str, external_id: str) -> Record | None:
        """The record whose NetSuite external id is `external_id`, if there is one."""
        query = entity_query(entity)
        where = [f"externalid = {queries.literal(external_id)}"]
        rows = await self._rows(queries.select(query, where))
        records = await self._records(entity, query, rows)
        return records[0] if records else None

    # --- aggregates ----------------------------------------------------------------------------

    async def receivables(self, customer_ids: Sequence[str]) -> dict[str, Decimal]:
        """Open accounts receivable per customer: the amount remaining on Open invoices, in
        each invoice's currency (a customer bills in one); 0 for customers with none."""
        return await self._sums("entity", "amountremaining", queries.OPEN_RECEIVABLE, customer_ids)

    async def invoiced_totals(self, job_ids: Sequence[str]) -> dict[str, Decimal]:
        """Invoiced amount per job: totals of Open and Paid invoices (not drafts, blocked or
        voided ones); 0 for jobs with none."""
        return await self._sums("job", "total", queries.INVOICED, job_ids)

    async def scheduled_jobs(self, job_ids: Sequence[str]) -> dict[str, bool]:
        """Whether each job has a billing schedule, without reading the schedules and
        their lines (a health figure asks no more; at 1,000 projects the lines were ten
        pages of SuiteQL, most of the health board's ERP bytes)."""
        table = entity_query("billing_schedule").table
        return await self._per_id(
            job_ids,
            lambda chunk: queries.counts(table, "job", chunk),
            "job",
            lambda row: int(row.get("found") or 0) > 0,
            False,
        )

    async def _sums(
        self, key: str, amount: str, condition: str, ids: Sequence[str]
    ) -> dict[str, Decimal]:
        return await self._per_id(
            ids,
            lambda chunk: queries.sums("invoice", key, amount, chunk, condition),
            key,
            lambda row: Decimal(str(row.get("amount") or 0)),
            Decimal(0),
        )

    async def _per_id(
        self,
        ids: Sequence[str],
        statement: Callable[[Sequence[str]], str],
        key: str,
        value: Callable[[Row], T],
        absent: T,
    ) -> dict[str, T]:
        """A grouped SuiteQL aggregate by id, one query per chunk of ids side by side:
        `value(row)` for each id's row (`key` names its id), `absent` for ids without one."""
        found = {str(i): absent for i in ids}
        answers = await asyncio.gather(
            *(
                self._rows(statement(chunk))
                for chunk in _chunks(queries.internal_ids(ids), self._batch)
            )
        )
        for row in (row for rows in answers for row in rows):
            try:
                found[str(row[key])] = value(row)
            except (KeyError, TypeError, ValueError, ArithmeticError) as error:
                raise SourceDataError(self.system, f"malformed aggregate row {row!r}") from error
        return found

    # --- writes --------------------------------------------------------------------------------

    async def ensure_customer(self, crm_account_id: str, fields: Mapping[str, Any]) -> Customer:
        """Create or update the customer whose external id is the CRM account id.
        Fields: name, payment_terms (a term's name), credit_status, currency (ISO code),
        subsidiary_id."""
        refs = await self._references_for(mapping.lists_needed(mapping.CUSTOMER_FIELDS, fields))
        body = self._build(lambda: mapping.customer_body(fields, refs))
        await self._upsert("customer", crm_account_id, body)
        return await self._written("customer", crm_account_id, Customer)

    async def upsert_job(
        self, psa_project_id: str, customer_id: str, fields: Mapping[str, Any]
    ) -> Job:
        """Create or update the job (project) whose external id is the PSA workspace id; its
        id is the finance code. Fields: name, code, status, start_date, end_date, currency,
        subsidiary_id."""
        refs = await self._references_for(mapping.lists_needed(mapping.JOB_FIELDS, fields))
        body = self._build(lambda: mapping.job_body(customer_id, fields, refs))
        await self._upsert("job", psa_project_id, body)
        return await self._written("job", psa_project_id, Job)

    async def upsert_billing_schedule(
        self, job_id: str, kind: str, lines: Sequence[BillingScheduleLine]
    ) -> BillingSchedule:
        """Create or replace the job's one billing schedule (its lines replace the old ones)."""
        external_id = mapping.billing_schedule_external_id(job_id)
        body = mapping.billing_schedule_body(job_id, kind, lines)
        await self._upsert("billingschedule", external_id, body)
        return await self._written("billing_schedule", external_id, BillingSchedule)

    async def post_time(self, time_entry_id: str, fields: Mapping[str, Any]) -> TimePosting:
        """Post approved hours as a timebill keyed by the TIME entry id. Fields: job_id,
        customer_id, hours, rate, work_date, currency, practice, region (by name), notes,
        billable. NetSuite refuses time on a closed project (SourceRejected)."""
        refs = await self._references_for(mapping.lists_needed(mapping.TIME_FIELDS, fields))
        body = self._build(lambda: mapping.time_body(fields, refs))
        await self._upsert("timebill", time_entry_id, body)
        return await self._written("time_posting", time_entry_id, TimePosting)

    async def create_invoice(
        self,
        job_id: str | None,
        customer_id: str,
        lines: Sequence[InvoiceLine],
        *,
        idempotency_key: str,
    ) -> Invoice:
        """Create an Open invoice billing `lines`; billed timebills point at it afterwards.
        The same key with the same request returns the same invoice, never a second one;
        the same key with another request is SourceRejected (IDEMPOTENCY_ERROR)."""
        body = mapping.invoice_body(customer_id, job_id, lines)
        response = await self._client.request(
            "POST",
            "/record/v1/invoice",
            json=body,
            headers={IDEMPOTENCY_HEADER: idempotency_key},
            idempotent=True,  # the key makes a repeat harmless
        )
        invoice_id = self._created_id(response)
        found = (await self.get_many("invoice", [invoice_id]))[0]
        if not isinstance(found, Invoice):
            raise SourceDataError(self.system, f"created invoice {invoice_id} cannot be read")
        return found

    async def record_milestone_billing(
        self, job_id: str, milestone_id: str, amount: Decimal
    ) -> Invoice:
        """Bill a completed milestone once: an invoice for `amount` to the job's customer,
        upserted under an external id derived from the milestone."""
        job = (await self.get_many("job", [job_id]))[0]
        if not isinstance(job, Job):
            raise SourceRejected(
                self.system, f"no job {job_id}", status=404, vendor_code="NONEXISTENT_ID"
            )
        external_id = mapping.milestone_invoice_external_id(milestone_id)
        body = mapping.milestone_invoice_body(job.customer_id, job_id, milestone_id, amount)
        await self._upsert("invoice", external_id, body)
        return await self._written("invoice", external_id, Invoice)

    # --- plumbing --------------------------------------------------------------------------------

    async def _suiteql(self, statement: str, *, limit: int = PAGE_MAX, offset: int = 0) -> _Answer:
        response = await self._client.request(
            "POST",
            SUITEQL_PATH,
            params={"limit": limit, "offset": offset},
            json={"q": statement},
            headers={"Prefer": "transient"},
            idempotent=True,  # a query, whatever its verb
        )
        body = parse_body(self.system, response)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, builtins.list) or not all(isinstance(i, dict) for i in items):
            raise SourceDataError(self.system, "a SuiteQL answer without items")
        total = body.get("totalResults")
        return _Answer(items, bool(body.get("hasMore")), total if isinstance(total, int) else None)

    async def _page(self, statement: str, *, limit: int = PAGE_MAX, offset: int = 0) -> Page[Row]:
        """One page of a SuiteQL answer. Pages are offsets into one ordered answer, so once
        the count is known the later ones can be named (and asked for side by side)."""
        answer = await self._suiteql(statement, limit=limit, offset=offset)
        step = len(answer.rows)
        if not (answer.has_more and step):
            return Page(answer.rows, None, answer.total)
        # With no count given, only the next page can be named.
        later = range(offset + step, max(answer.total or 0, offset + step + 1), step)
        return Page(answer.rows, str(offset + step), answer.total, NumberedCursors(later, str))

    async def _rows(self, statement: str) -> builtins.list[Row]:
        """Every row of the answer: the first page, then the rest side by side."""
        return await every_page(lambda cursor: self._page(statement, offset=decode_offset(cursor)))

    async def _records(
        self, entity: str, query: EntityQuery, rows: Sequence[Row]
    ) -> builtins.list[Record]:
        lines: builtins.list[Row] = []
        if query.lines is not None and rows:
            parents = queries.internal_ids(row.get("id") for row in rows)
            lines = await self._rows(queries.lines_of(query.lines, parents))
        return self._read(entity, query, rows, lines)

    def _read(
        self, entity: str, query: EntityQuery, rows: Sequence[Row], lines: Sequence[Row]
    ) -> builtins.list[Record]:
        """Records of `rows`, each with its own of `lines` (others are ignored)."""
        by_parent: dict[str, builtins.list[Row]] = defaultdict(builtins.list)
        if query.lines is not None:
            for line in lines:
                by_parent[str(line.get(query.lines.parent))].append(line)
        make = self._remembered[entity]
        records = []
        for row in rows:
            try:
                record = make({"row": row, "lines": by_parent.get(str(row.get("id")), [])})
            except ValueError as error:  # MalformedRowError, or a record its model refuses
                raise SourceDataError(self.system, f"{entity}: {error}") from error
            if record is not None:
                records.append(record)
        return records

    def _position(self, row: Row) -> ChangePosition:
        try:
            return ChangePosition(
                mapping.parse_moment(str(row["lastmodifieddate"])), str(row["id"])
            )
        except (KeyError, mapping.MalformedRowError) as error:
            raise SourceDataError(
                self.system, f"a change row without a position: {row!r}"
            ) from error

    async def _upsert(self, record_type: str, external_id: str, body: Mapping[str, Any]) -> None:
        path = f"/record/v1/{record_type}/eid:{quote(external_id, safe='')}"
        await self._client.request("PUT", path, json=dict(body))

    async def _written(self, entity: str, external_id: str, kind: type[R]) -> R:
        record = await self.find_by_external_id(entity, external_id)
        if not isinstance(record, kind):
            raise SourceDataError(self.system, f"{entity} {external_id} cannot be read back")
        return record

    def _created_id(self, response: httpx.Response) -> str:
        location = str(response.headers.get("Location", ""))
        record_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not record_id.isdigit():
            raise SourceDataError(self.system, f"a create without a record Location: {location!r}")
        return record_id

    def _build(self, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return build()
        except mapping.UnknownReferenceError as error:
            raise SourceRejected(
                self.system, str(error), status=400, vendor_code="INVALID_KEY_OR_REF"
            ) from error

    async def _references_for(self, lists: set[str]) -> mapping.References:
        """name -> internal id for each reference list, read once per connector."""
        async with self._reference_lock:
            for name in sorted(lists - set(self._references)):
                table, column = mapping.REFERENCE_LISTS[name]
                rows = await self._rows(f"SELECT id, {column} FROM {table} ORDER BY id")
                self._references[name] = {
                    str(row[column]): str(row["id"]) for row in rows if column in row
                }
        return self._references


@dataclass(frozen=True)
class _Answer:
    rows: builtins.list[Row]
    has_more: bool
    total: int | None


def _chunks(items: Sequence[Any], size: int) -> builtins.list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


CONNECTOR = ErpConnector


def _read_row(read: mapping.Reader, ui: str, row_and_lines: Mapping[str, Any]) -> Record | None:
    return read(row_and_lines["row"], row_and_lines["lines"], ui)
