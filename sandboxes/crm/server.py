"""A Salesforce-shaped CRM: OAuth client credentials, SOQL, sObject collections, `/updated`.

Vendor routes (under /services/data/v62.0 unless noted):

    POST  /services/oauth2/token                 client-credentials grant (public)
    GET   /query?q=SOQL                          Sforce-Query-Options: batchSize=200..2000
    GET   /query/{locator}                       the next batch (nextRecordsUrl)
    GET   /composite/sobjects/{type}?ids=&fields=
    POST  /composite/sobjects/{type}             {"ids": [...], "fields": [...]}, up to 2000
    GET   /sobjects/{type}/updated/?start=&end=  {ids, latestDateCovered}, 30 days back at most
    GET   /sobjects/{type}/{id}
    POST  /sobjects/{type}                       create
    PATCH /sobjects/{type}/{id}                  update
    PATCH /sobjects/{type}/{extIdField}/{value}  upsert by external id (201 / 200 / 300)

Every vendor response carries `Sforce-Limit-Info`; when the daily quota is spent, calls
get 403 REQUEST_LIMIT_EXCEEDED, as on a real org. (The generic per-second rate-limit fault
answers 429 with Retry-After, in the same error-array shape.)

Admin extras: `POST /_sandbox/quota {"limit", "used"}` (the daily quota) and
`POST /_sandbox/sessions {"lifetime_s", "expire"}` (token lifetime; expire every session).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandboxes.base import Sandbox
from sandboxes.crm.access import (
    DEFAULT_DAILY_LIMIT,
    DEFAULT_TOKEN_LIFETIME_S,
    INTEGRATION_USER_ID,
    ORG_ID,
    Quota,
    Sessions,
)
from sandboxes.crm.org import ApiError, MultipleMatchesError, Org, QueryResult, Row, record_url
from sandboxes.crm.seed import seed_org
from sandboxes.crm.sobjects import ACCOUNT, CONTACT, OPPORTUNITY, Field, SObjectType, sobject_type
from sandboxes.crm.soql_engine import SoqlError, parse
from sandboxes.responses import JSONResponse
from sandboxes.world.model import World
from sources.crm.formats import API_PATH, TOKEN_PATH, format_datetime, parse_datetime
from sources.records import SourceSystem

MAX_COLLECTION_IDS = 2000
BATCH_SIZES = (200, 2000)  # the smallest and largest (and default) query batch
UPDATED_WINDOW = timedelta(days=30)
MAX_OPEN_CURSORS = 100

_ENTITIES = {"account": ACCOUNT, "contact": CONTACT, "opportunity": OPPORTUNITY}
_BASE_CODES = {
    "INVALID_AUTH": "INVALID_SESSION_ID",
    "UNAVAILABLE": "SERVER_UNAVAILABLE",
    "RATE_LIMITED": "REQUEST_LIMIT_EXCEEDED",
}


@dataclass
class _Cursor:
    result: QueryResult
    batch: int


class CrmSandbox(Sandbox):
    system = SourceSystem.CRM
    name = "crm"
    title = "Salesforce-shaped CRM"

    def __init__(
        self,
        world: World,
        *,
        token: str,
        token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
    ) -> None:
        self.default_token_lifetime_s = token_lifetime_s
        self.default_daily_limit = daily_limit
        self.sessions = Sessions(token_lifetime_s)
        self.quota = Quota(daily_limit)
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        super().__init__(world, token=token)

    # --- the Sandbox contract ----------------------------------------------------------

    def seed(self, world: World) -> None:
        self.org: Org = seed_org(world, self.clock.tick, latest=self.clock.now())
        self.quota = Quota(self.default_daily_limit)
        self.sessions.lifetime_s = self.default_token_lifetime_s
        self._cursors.clear()

    def error_response(
        self, status: int, message: str, code: str, fields: Sequence[str] = ()
    ) -> Response:
        body = [
            {"message": message, "errorCode": _BASE_CODES.get(code, code), "fields": list(fields)}
        ]
        return JSONResponse(body, status_code=status)

    def touch(self, entity: str, ids: Sequence[str]) -> int:
        found = self.org.touch(_ENTITIES[entity], ids)
        for record_id in found:
            self.changed(f"{entity}.updated", {"id": record_id, "changed_fields": []})
        return len(found)

    def check_auth(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.sessions.valid(token.strip()):
            return self.error_response(401, "Session expired or invalid", "INVALID_SESSION_ID")
        if not self.quota.spend():
            return self.error_response(
                403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED"
            )
        return None

    def public_paths(self) -> frozenset[str]:
        return frozenset({TOKEN_PATH})

    def admin_routes(self) -> Sequence[BaseRoute]:
        return (
            Route("/_sandbox/quota", self._quota, methods=["GET", "POST"]),
            Route("/_sandbox/sessions", self._sessions, methods=["GET", "POST"]),
        )

    def app(self) -> Starlette:
        app = super().app()
        app.add_middleware(_LimitInfo, quota=lambda: self.quota)
        return app

    def vendor_routes(self) -> Sequence[BaseRoute]:
        api = API_PATH
        return (
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route(f"{api}/query", self._query, methods=["GET"]),
            Route(f"{api}/query/", self._query, methods=["GET"]),
            Route(f"{api}/query/{{locator}}", self._query_more, methods=["GET"]),
            Route(
                f"{api}/composite/sobjects/{{sobject}}", self._collection, methods=["GET", "POST"]
            ),
            Route(f"{api}/sobjects/{{sobject}}/updated/", self._updated, methods=["GET"]),
            Route(f"{api}/sobjects/{{sobject}}/updated", self._updated, methods=["GET"]),
            Route(f"{api}/sobjects/{{sobject}}", self._create, methods=["POST"]),
            Route(
                f"{api}/sobjects/{{sobject}}/{{record_id}}", self._record, methods=["GET", "PATCH"]
            ),
            Route(
                f"{api}/sobjects/{{sobject}}/{{field}}/{{value}}", self._upsert, methods=["PATCH"]
            ),
        )

    # --- auth --------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        """OAuth 2.0 client-credentials token."""
        form = await request.form()
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        if not isinstance(client_id, str) or not client_id or not isinstance(secret, str):
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret.encode(), self.token.encode()):
            return _oauth_error("invalid_client", "invalid client credentials")
        instance = str(request.base_url).rstrip("/")
        identity = f"{instance}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
        return JSONResponse(
            {
                "access_token": self.sessions.issue(),
                "instance_url": instance,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": base64.b64encode(digest.digest()).decode(),
                "scope": "api",
            }
        )

    # --- reading -----------------------------------------------------------------------

    async def _query(self, request: Request) -> Response:
        """SOQL query; the first batch and a nextRecordsUrl."""
        text = request.query_params.get("q")
        if not text:
            return self.error_response(400, "A query string is required", "MALFORMED_QUERY")
        try:
            result = self.org.query(parse(text))
        except SoqlError as error:
            return self.error_response(400, error.message, error.code)
        except ApiError as error:
            return self._api_error(error)
        if result.count:
            return JSONResponse({"totalSize": len(result.rows), "done": True, "records": []})
        batch = _batch_size(request.headers.get("sforce-query-options", ""))
        return self._batch(_Cursor(result, batch), f"01g{secrets.token_hex(7)}", 0)

    async def _query_more(self, request: Request) -> Response:
        """The next batch of an earlier query."""
        base, _, position = request.path_params["locator"].rpartition("-")
        cursor = self._cursors.get(base)
        if cursor is None or not position.isdigit():
            return self.error_response(400, "invalid query locator", "INVALID_QUERY_LOCATOR")
        return self._batch(cursor, base, int(position))

    def _batch(self, cursor: _Cursor, locator: str, start: int) -> Response:
        rows = cursor.result.rows
        stop = start + cursor.batch
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": stop >= len(rows),
            "records": [
                _serialize(cursor.result.sobject, row, cursor.result.fields)
                for row in rows[start:stop]
            ],
        }
        if stop < len(rows):
            self._cursors[locator] = cursor
            self._cursors.move_to_end(locator)
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
            body["nextRecordsUrl"] = f"{API_PATH}/query/{locator}-{stop}"
        else:
            self._cursors.pop(locator, None)
        return JSONResponse(body)

    async def _collection(self, request: Request) -> Response:
        """sObject collection retrieve: records aligned with ids, null where not found."""
        try:
            sobject = self._sobject(request)
            if request.method == "POST":
                body = await _json_body(request)
                raw_ids, raw_fields = body.get("ids"), body.get("fields")
            else:
                raw_ids = _split(request.query_params.get("ids"))
                raw_fields = _split(request.query_params.get("fields"))
            if not isinstance(raw_ids, list) or not isinstance(raw_fields, list):
                raise ApiError(400, "MISSING_ARGUMENT", "ids and fields are both required")
            if len(raw_ids) > MAX_COLLECTION_IDS:
                raise ApiError(
                    400, "LIMIT_EXCEEDED", f"at most {MAX_COLLECTION_IDS} ids per request"
                )
            fields = self.org.fields(sobject, ["Id", *map(str, raw_fields)])
        except ApiError as error:
            return self._api_error(error)
        records = []
        for raw in raw_ids:
            row = self.org.get(sobject, raw) if isinstance(raw, str) else None
            records.append(None if row is None else _serialize(sobject, row, fields))
        return JSONResponse(records)

    async def _record(self, request: Request) -> Response:
        """Read (GET) or update (PATCH) one record."""
        try:
            sobject = self._sobject(request)
            record_id = request.path_params["record_id"]
            if request.method == "PATCH":
                changed = self.org.update(sobject, record_id, await _json_body(request))
                self._notify(sobject, record_id, "updated", changed)
                return Response(status_code=204)
            row = self.org.get(sobject, record_id)
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            names = _split(request.query_params.get("fields")) or [f.name for f in sobject.fields]
            fields = self.org.fields(sobject, names)
        except ApiError as error:
            return self._api_error(error)
        return JSONResponse(_serialize(sobject, row, fields))

    async def _updated(self, request: Request) -> Response:
        """Ids modified in [start, end), and how far the answer is complete."""
        try:
            sobject = self._sobject(request)
            start = _moment_param(request, "start")
            end = _moment_param(request, "end")
        except ApiError as error:
            return self._api_error(error)
        now = datetime.now(UTC)
        if start < now - UPDATED_WINDOW:
            return self.error_response(
                400, "start date cannot be more than 30 days ago", "INVALID_REPLICATION_DATE"
            )
        if end < start:
            return self.error_response(
                400, "end date cannot be before start date", "INVALID_REPLICATION_DATE"
            )
        covered = min(end, self._complete_until(now))
        return JSONResponse(
            {
                "ids": self.org.changed_between(sobject, start, covered),
                "latestDateCovered": format_datetime(covered),
            }
        )

    def _complete_until(self, now: datetime) -> datetime:
        """The earliest stamp a later write can get: every record stamped before it exists."""
        whole_ms = now.replace(microsecond=now.microsecond // 1000 * 1000)
        return max(whole_ms, self.clock.now() + timedelta(milliseconds=1))

    # --- writing -----------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        """Create one record: 201 {id, success, errors}."""
        try:
            sobject = self._sobject(request)
            record_id = self.org.create(sobject, await _json_body(request))
        except ApiError as error:
            return self._api_error(error)
        self._notify(sobject, record_id, "created", sorted(self.org.table(sobject)[record_id]))
        return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)

    async def _upsert(self, request: Request) -> Response:
        """Upsert by external id: 201 created, 200 updated, 300 several matches."""
        try:
            sobject = self._sobject(request)
            record_id, created, changed = self.org.upsert(
                sobject,
                request.path_params["field"],
                request.path_params["value"],
                await _json_body(request),
            )
        except ApiError as error:
            return self._api_error(error)
        except MultipleMatchesError as several:
            return JSONResponse(several.urls, status_code=300)
        self._notify(sobject, record_id, "created" if created else "updated", changed)
        return JSONResponse(
            {"id": record_id, "success": True, "errors": [], "created": created},
            status_code=201 if created else 200,
        )

    # --- helpers -------------------------------------------------------------------------

    def _sobject(self, request: Request) -> SObjectType:
        name = request.path_params["sobject"]
        sobject = sobject_type(name)
        if sobject is None:
            raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: {name}")
        return sobject

    def _notify(self, sobject: SObjectType, record_id: str, verb: str, changed: list[str]) -> None:
        row = self.org.get(sobject, record_id)
        if row is not None:
            event = f"{sobject.name.lower()}.{verb}"
            self.changed(event, {"id": row["Id"], "changed_fields": changed})

    def _api_error(self, error: ApiError) -> Response:
        return self.error_response(error.status, error.message, error.code, error.fields)

    # --- admin ---------------------------------------------------------------------------

    async def _quota(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            self.quota.limit = int(body.get("limit", self.quota.limit))
            self.quota.used = int(body.get("used", self.quota.used))
        return JSONResponse({"limit": self.quota.limit, "used": self.quota.used})

    async def _sessions(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            if "lifetime_s" in body:
                self.sessions.lifetime_s = float(body["lifetime_s"])
            if body.get("expire"):
                self.sessions.expire_all()
        return JSONResponse(
            {"lifetime_s": self.sessions.lifetime_s, "active": self.sessions.active}
        )


class _LimitInfo:
    """Adds `Sforce-Limit-Info: api-usage=used/limit` to every vendor response."""

    def __init__(self, app: ASGIApp, quota: Any) -> None:
        self.app = app
        self.quota = quota

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/services/"):
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("Sforce-Limit-Info", self.quota().header)
            await send(message)

        await self.app(scope, receive, send_with_limits)


def _serialize(sobject: SObjectType, row: Row, fields: Sequence[Field]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": sobject.name, "url": record_url(sobject, str(row["Id"]))}
    }
    for field in fields:
        record[field.name] = field.to_json(row.get(field.name))
    return record


def _batch_size(options: str) -> int:
    low, high = BATCH_SIZES
    for option in options.split(","):
        key, _, value = option.partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(high, max(low, int(value)))
    return high


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _moment_param(request: Request, name: str) -> datetime:
    text = request.query_params.get(name)
    if not text:
        raise ApiError(400, "MISSING_ARGUMENT", f"{name} is required", [name])
    try:
        return parse_datetime(text)
    except ValueError:
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", f"{name} is not a dateTime: {text}"
        ) from None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _oauth_error(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


SANDBOX = CrmSandbox
