"""`POST /webhooks/{system}`: pushed change notifications, verified, deduplicated, persisted.

Pushes follow Standard Webhooks and are thin: `{"type": "opportunity.updated", "data":
{"id": "...", "changed_fields": [...]}}`. A push is trusted for nothing but "this record
changed": the record is re-read through the system's connector and goes through the same
`Ingest` as a poll, so a change seen both ways is one event.

    404  unknown system (or one this gateway has no connector for)
    401  missing, bad or stale signature; nothing is stored
    400  signed, but the body is not a notification
    503  the record could not be re-read; nothing is stored, so the sender's retry counts
    202  a notification about something this gateway does not follow
    200  persisted (or a duplicate of a webhook id already persisted)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.events.ingest import Ingest, Receipt, Sighting
from gateway.events.log import format_cursor
from gateway.events.webhooks import WebhookRejectedError, verify_webhook
from sources import registry
from sources.connector import Connector
from sources.errors import SourceError
from sources.records import SourceSystem

log = logging.getLogger(__name__)


# The type prefix each vendor's notifications use -> the connector's entity.
def webhook_entities(system: SourceSystem) -> Mapping[str, str]:
    return registry.system(system.value).webhook_entities


Secrets = Callable[[SourceSystem], Sequence[str]]


class MalformedNotificationError(ValueError):
    pass


def read_notification(
    system: SourceSystem, payload: Mapping[str, Any]
) -> tuple[str | None, str, str]:
    """(entity or None when not followed, record id, verb) from a thin notification."""
    kind = payload.get("type")
    data = payload.get("data")
    if not isinstance(kind, str) or "." not in kind:
        raise MalformedNotificationError("'type' must look like '<object>.<verb>'")
    if not isinstance(data, dict):
        raise MalformedNotificationError("'data' must be an object")
    record_id = data.get("id")
    if isinstance(record_id, bool) or not isinstance(record_id, str | int) or record_id == "":
        raise MalformedNotificationError("'data.id' must be a string or a number")
    prefix, _, verb = kind.rpartition(".")
    return webhook_entities(system).get(prefix), str(record_id), verb


class WebhookReceiver:
    def __init__(
        self,
        connectors: Mapping[SourceSystem, Connector],
        secrets: Secrets,
        ingest: Ingest,
    ) -> None:
        """`secrets(system)` lists the secrets that system may sign with."""
        self._connectors = connectors
        self._secrets = secrets
        self._ingest = ingest

    def routes(self) -> list[Route]:
        return [Route("/webhooks/{system}", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        name = str(request.path_params["system"])
        system = _system(name)
        if system is None or system not in self._connectors:
            return _error(404, f"no such system: {name!r}")
        body = await request.body()
        try:
            pushed = verify_webhook(self._secrets(system), body, request.headers)
            entity, record_id, verb = read_notification(system, pushed.payload)
        except WebhookRejectedError as rejected:
            return _error(rejected.status, rejected.reason)
        except MalformedNotificationError as malformed:
            return _error(400, str(malformed))
        if entity is None:
            return JSONResponse({"ignored": pushed.type}, status_code=202)
        try:
            found = await self._connectors[system].get_many(entity, [record_id])
        except SourceError as error:
            log.warning("re-reading %s %s %s failed: %s", name, entity, record_id, error)
            response = _error(503, f"could not re-read the record: {error.code}")
            response.headers["Retry-After"] = "5"
            return response
        record = found[0] if found else None
        seen = Sighting(
            system,
            entity,
            records=[record] if record is not None else [],
            deleted_ids=[record_id] if record is None and verb == "deleted" else [],
        )
        applied = await self._ingest.apply(seen, receipt=Receipt(pushed.id, system))
        return JSONResponse(
            {
                "duplicate": applied.duplicate,
                "events": [format_cursor(e.cursor) for e in applied.events],
            }
        )


def _system(name: str) -> SourceSystem | None:
    try:
        return SourceSystem(name.upper())
    except ValueError:
        return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
