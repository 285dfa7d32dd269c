"""A NetSuite-shaped ERP: REST record API and SuiteQL under /services/rest.

    GET    /record/v1/{type}?limit=&offset=        ids, 1000 a page at most
    GET    /record/v1/{type}/{id | eid:ext}         one record (?fields=a,b; sublists with
                                                    ?expandSubResources=true)
    POST   /record/v1/{type}                        create: 204 + Location ending in the new id
    PUT    /record/v1/{type}/eid:{ext}              upsert by external id: 204 + Location
    PATCH  /record/v1/{type}/{id | eid:ext}         update: 204
    DELETE /record/v1/{type}/{id | eid:ext}         204
    POST   /query/v1/suiteql?limit=&offset=         {"q": "SELECT ..."}, needs `Prefer: transient`

Record types: customer, job, billingschedule, invoice, customerpayment, timebill, and the
read-only subsidiary, currency, term, department, location (see `catalog`). SuiteQL is the
subset in `suiteql`; its answer shows values as text, dates as YYYY-MM-DD and timestamps as
ISO 8601 UTC with milliseconds (`2024-05-01T13:45:00.250Z`), omits NULL columns, and a
cursor compares with `lastmodifieddate > TO_TIMESTAMP('2024-05-01 13:45:00.250',
'YYYY-MM-DD HH24:MI:SS.FF')` (UTC).

`X-NetSuite-Idempotency-Key` is honoured on POST and PUT: the same key with the same
request answers the first outcome again (same Location, no second record); the same key
with another request is 400 "Conflict", o:errorCode IDEMPOTENCY_ERROR (with the earlier
async job's Location, if there was one). NetSuite documents the key for asynchronous
requests; here the synchronous ones honour it too. `Prefer: respond-async` on those writes
answers 202 + `Location: .../async/v1/job/{id}`; the job has always finished by then:

    GET    /async/v1/job/{id}                       {id, completed, progress, task: {links}}
    GET    /async/v1/job/{id}/task/{id}/result      the synchronous answer (204 + Location)

Like an account's concurrency governance, at most `concurrency_limit` vendor requests (5 by
default; `POST /_sandbox/concurrency {"limit": n}`) are served at once; the rest get 429
with o:errorCode CONCURRENCY_LIMIT_EXCEEDED and no Retry-After.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.base import Sandbox
from sandboxes.erp.catalog import ENTITY_TYPES
from sandboxes.erp.ledger import Ledger
from sandboxes.erp.seed import seed_store
from sandboxes.erp.store import Record, RecordError, RecordStore, render_sql_value
from sandboxes.erp.suiteql import SuiteQLError
from sandboxes.erp.suiteql_answers import Answers
from sandboxes.responses import JSONResponse
from sandboxes.world.model import World
from sources.records import SourceSystem

REST = "/services/rest"
PAGE_MAX = 1000
SUITEQL_ROW_CAP = 100_000
DEFAULT_CONCURRENCY = 5
IDEMPOTENCY_HEADER = "x-netsuite-idempotency-key"

_ERROR_TYPES = {
    400: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
    401: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
    403: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4",
    404: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5",
    405: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6",
    429: "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
    500: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1",
    503: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4",
}

# Names the change notifications use: the connector's entity names.
_ENTITY_OF_TYPE = {type_name: entity for entity, type_name in ENTITY_TYPES.items()}


@dataclass
class _Outcome:
    """What a keyed write did, to answer its repeats (and its async job) with."""

    fingerprint: str
    location: str | None = None  # of the record written
    error: RecordError | None = None
    job: str | None = None  # the async job that reported it, once there is one


class ErpSandbox(Sandbox):
    system = SourceSystem.ERP
    name = "erp"
    title = "NetSuite-shaped ERP"

    def __init__(self, world: World, *, token: str) -> None:
        self.concurrency_limit = DEFAULT_CONCURRENCY
        self.in_flight = 0
        super().__init__(world, token=token)

    # --- Sandbox hooks -------------------------------------------------------------------

    def seed(self, world: World) -> None:
        self.store: RecordStore = seed_store(world)
        self.ledger = Ledger(self.store, self.clock)
        self.answers = Answers(self.store)
        self._idempotency: dict[str, _Outcome] = {}
        self._jobs: dict[str, _Outcome] = {}
        self.concurrency_limit = DEFAULT_CONCURRENCY

    def vendor_routes(self) -> Sequence[BaseRoute]:
        return [
            Route(f"{REST}/query/v1/suiteql", self.suiteql, methods=["POST"]),
            Route(f"{REST}/async/v1/job/{{job}}", self.async_job, methods=["GET"]),
            Route(
                f"{REST}/async/v1/job/{{job}}/task/{{task}}/result",
                self.async_result,
                methods=["GET"],
            ),
            Route(f"{REST}/record/v1/{{type}}", self.collection, methods=["GET", "POST"]),
            Route(
                f"{REST}/record/v1/{{type}}/{{key}}",
                self.instance,
                methods=["GET", "PUT", "PATCH", "DELETE"],
            ),
        ]

    def admin_routes(self) -> Sequence[BaseRoute]:
        return [Route("/_sandbox/concurrency", self._concurrency, methods=["GET", "POST"])]

    def error_response(self, status: int, message: str, code: str) -> Response:
        title = "Conflict" if code == "IDEMPOTENCY_ERROR" else _phrase(status)
        body = {
            "type": _ERROR_TYPES.get(status, _ERROR_TYPES[400]),
            "title": title,
            "status": status,
            "o:errorDetails": [{"detail": message, "o:errorCode": code}],
        }
        return JSONResponse(body, status_code=status)

    def touch(self, entity: str, ids: Sequence[str]) -> int:
        type_name = ENTITY_TYPES.get(entity, entity)
        if type_name not in self.store.types:
            raise KeyError(entity)
        touched = sum(self.ledger.touch(type_name, record_id) for record_id in ids)
        self._publish()
        return touched

    def app(self) -> Starlette:
        app = super().app()
        # Outermost, so requests waiting out injected latency count as in flight too.
        app.add_middleware(_ConcurrencyGate, sandbox=self)
        return app

    # --- record API ------------------------------------------------------------------------

    async def collection(self, request: Request) -> Response:
        """Record collection: list ids (GET) or create a record (POST)."""
        type_name = request.path_params["type"]
        try:
            self.store.type(type_name)
            if request.method == "POST":
                body = await _json_body(request)
                return self._idempotent(
                    request, body, lambda: self.ledger.create(type_name, body)["id"]
                )
            limit, offset = _paging(request)
        except RecordError as error:
            return self._error(error)
        records = self.store.all(type_name)
        base = f"{self._base(request)}/record/v1/{type_name}"
        page = records[offset : offset + limit]
        items = [
            {"links": [{"rel": "self", "href": f"{base}/{r['id']}"}], "id": r["id"]} for r in page
        ]
        return JSONResponse(_page_body(base, items, limit, offset, len(records)))

    async def instance(self, request: Request) -> Response:
        """One record: read, upsert by external id, update or delete."""
        type_name, key = request.path_params["type"], request.path_params["key"]
        try:
            self.store.type(type_name)
            if request.method == "PUT":
                if not key.startswith("eid:"):
                    raise RecordError(
                        405, "INVALID_METHOD", "PUT upserts by external id: use .../eid:{id}."
                    )
                body = await _json_body(request)
                return self._idempotent(
                    request, body, lambda: self.ledger.upsert(type_name, key[4:], body)[0]["id"]
                )
            record = self.store.resolve(type_name, key)
            if record is None:
                raise RecordError(
                    404,
                    "NONEXISTENT_ID",
                    "The record instance does not exist. Provide a valid record instance ID.",
                )
            if request.method == "GET":
                return self._show(request, type_name, record)
            if request.method == "PATCH":
                self.ledger.update(type_name, record, await _json_body(request))
                return self._no_content(request, type_name, record["id"])
            self.ledger.delete(type_name, record)
            self._publish()
            return Response(status_code=204)
        except RecordError as error:
            self._publish()
            return self._error(error)

    def _show(self, request: Request, type_name: str, record: Record) -> Response:
        body = self.store.render(type_name, record, self._base(request))
        if request.query_params.get("expandSubResources", "").lower() != "true":
            for name in self.store.type(type_name).sublists():
                if name in body:
                    body[name] = {"links": body[name]["links"]}
        wanted = request.query_params.get("fields")
        if wanted:
            keep = {"links", "id", *(f.strip() for f in wanted.split(","))}
            body = {k: v for k, v in body.items() if k in keep}
        return JSONResponse(body)

    def _idempotent(self, request: Request, body: Any, write: Callable[[], str]) -> Response:
        """Run `write` (returning the record id) once per idempotency key, synchronously or
        (with `Prefer: respond-async`) as an already finished async job."""
        key = request.headers.get(IDEMPOTENCY_HEADER)
        is_async = "respond-async" in request.headers.get("prefer", "").lower()
        fingerprint = hashlib.sha256(
            json.dumps([request.method, request.url.path, body], sort_keys=True).encode()
        ).hexdigest()
        outcome = None if key is None else self._idempotency.get(key)
        if outcome is not None and outcome.fingerprint != fingerprint:
            conflict = self.error_response(
                400,
                f"The idempotency key {key} was already used for a different request.",
                "IDEMPOTENCY_ERROR",
            )
            if outcome.job is not None:
                conflict.headers["Location"] = self._job_url(request, outcome.job)
            return conflict
        if outcome is None:
            outcome = self._run(request, fingerprint, write)
            if key is not None:
                self._idempotency[key] = outcome
        if not is_async:
            return self._replay(outcome)
        if outcome.job is None:
            outcome.job = str(len(self._jobs) + 1)
            self._jobs[outcome.job] = outcome
        headers = {
            "Location": self._job_url(request, outcome.job),
            "Preference-Applied": "respond-async",
        }
        return Response(status_code=202, headers=headers)

    def _run(self, request: Request, fingerprint: str, write: Callable[[], str]) -> _Outcome:
        type_name = request.path_params["type"]
        try:
            record_id = write()
        except RecordError as error:
            return _Outcome(fingerprint, error=error)
        finally:
            self._publish()
        return _Outcome(fingerprint, f"{self._base(request)}/record/v1/{type_name}/{record_id}")

    def _replay(self, outcome: _Outcome) -> Response:
        if outcome.error is not None:
            return self._error(outcome.error)
        return Response(status_code=204, headers={"Location": outcome.location or ""})

    def _job_url(self, request: Request, job_id: str) -> str:
        return f"{self._base(request)}/async/v1/job/{job_id}"

    async def async_job(self, request: Request) -> Response:
        """Async job: its state (every job here has finished when it is first answered)."""
        job_id = request.path_params["job"]
        outcome = self._jobs.get(job_id)
        if outcome is None:
            return self.error_response(404, f"No async job {job_id}.", "NONEXISTENT_ID")
        url = self._job_url(request, job_id)
        return JSONResponse(
            {
                "links": [{"rel": "self", "href": url}],
                "id": job_id,
                "completed": True,
                "progress": "failed" if outcome.error is not None else "succeeded",
                "task": {"links": [{"rel": "related", "href": f"{url}/task/{job_id}"}]},
            }
        )

    async def async_result(self, request: Request) -> Response:
        """Async job result: the answer the request would have had synchronously."""
        job_id, task_id = request.path_params["job"], request.path_params["task"]
        outcome = self._jobs.get(job_id)
        if outcome is None or task_id != job_id:
            return self.error_response(404, f"No async task {task_id}.", "NONEXISTENT_ID")
        return self._replay(outcome)

    def _no_content(self, request: Request, type_name: str, record_id: str) -> Response:
        self._publish()
        location = f"{self._base(request)}/record/v1/{type_name}/{record_id}"
        return Response(status_code=204, headers={"Location": location})

    # --- SuiteQL ---------------------------------------------------------------------------

    async def suiteql(self, request: Request) -> Response:
        """SuiteQL query: one page of rows."""
        if "transient" not in request.headers.get("prefer", "").lower():
            return self.error_response(
                400, "SuiteQL requests need the header 'Prefer: transient'.", "INVALID_HEADER"
            )
        try:
            limit, offset = _paging(request)
            body = await _json_body(request)
            text = body.get("q") if isinstance(body, dict) else None
            if not isinstance(text, str):
                raise RecordError(400, "INVALID_CONTENT", 'The body must be {"q": "<SuiteQL>"}.')
            rows, answer_total = self.answers.page(text, offset, limit)
        except RecordError as error:
            return self._error(error)
        except SuiteQLError as error:
            return self.error_response(
                400,
                f"Invalid search query. Detailed unprocessed description follows. {error}",
                "INVALID_PARAMETER",
            )
        total = min(answer_total, SUITEQL_ROW_CAP)
        items = [
            {"links": [], **{k: render_sql_value(v) for k, v in row.items() if v is not None}}
            for row in rows[: max(0, total - offset)]
        ]
        base = f"{self._base(request)}/query/v1/suiteql"
        return JSONResponse(_page_body(base, items, limit, offset, total))

    # --- admin -----------------------------------------------------------------------------

    async def _concurrency(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                limit = int((await request.json())["limit"])
            except (ValueError, KeyError, TypeError) as error:
                return JSONResponse({"error": f"bad limit: {error}"}, status_code=400)
            self.concurrency_limit = max(1, limit)
        return JSONResponse({"limit": self.concurrency_limit, "in_flight": self.in_flight})

    # --- helpers ---------------------------------------------------------------------------

    def _error(self, error: RecordError) -> Response:
        return self.error_response(error.status, error.detail, error.code)

    def _publish(self) -> None:
        for change in self.ledger.changes:
            entity = _ENTITY_OF_TYPE.get(change.type_name, change.type_name)
            self.changed(
                f"{entity}.{change.kind}",
                {"id": change.record_id, "changed_fields": list(change.fields)},
            )
        self.ledger.changes.clear()

    @staticmethod
    def _base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}{REST}"


class _ConcurrencyGate:
    """Answers 429 CONCURRENCY_LIMIT_EXCEEDED past the sandbox's in-flight limit."""

    def __init__(self, app: ASGIApp, sandbox: ErpSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(REST):
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        if sandbox.in_flight >= sandbox.concurrency_limit:
            sandbox.runtime.counts["CONCURRENCY_LIMIT_EXCEEDED"] += 1
            response = sandbox.error_response(
                429,
                "Concurrent request limit exceeded. Request blocked.",
                "CONCURRENCY_LIMIT_EXCEEDED",
            )
            await response(scope, receive, send)
            return
        sandbox.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            sandbox.in_flight -= 1


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        raise RecordError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None


def _paging(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", PAGE_MAX))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise RecordError(400, "INVALID_PARAMETER", "limit and offset must be integers.") from None
    if not 1 <= limit <= PAGE_MAX or offset < 0:
        raise RecordError(
            400, "INVALID_PARAMETER", f"limit must be 1..{PAGE_MAX} and offset at least 0."
        )
    return limit, offset


def _page_body(
    base: str,
    items: list[dict[str, Any]],
    limit: int,
    offset: int,
    total: int,
) -> dict[str, Any]:
    def href(at: int) -> str:
        return f"{base}?limit={limit}&offset={at}"

    has_more = offset + len(items) < total
    links = [{"rel": "self", "href": href(offset)}]
    if total:
        links.append({"rel": "first", "href": href(0)})
    if offset > 0:
        links.append({"rel": "previous", "href": href(max(0, offset - limit))})
    if has_more:
        links.append({"rel": "next", "href": href(offset + limit)})
    if total:
        links.append({"rel": "last", "href": href((total - 1) // limit * limit)})
    return {
        "links": links,
        "count": len(items),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }


SANDBOX = ErpSandbox
