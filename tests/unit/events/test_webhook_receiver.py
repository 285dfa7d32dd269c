"""POST /webhooks/{system}: only verified pushes are persisted, each webhook id once, and
the record is re-read from its source before the push is answered."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette

from gateway.events.ingest import Ingest
from gateway.events.receiver import WebhookReceiver
from gateway.store import Store
from sources.records import SourceSystem
from tests.unit.events.fakes import FakeConnector, time_entry, unavailable

TIME = SourceSystem.TIME
SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()


def notification(record_id: str = "1", kind: str = "time_entry.updated") -> str:
    return json.dumps({"type": kind, "data": {"id": record_id, "changed_fields": ["status"]}})


def signed(
    body: str,
    *,
    msg_id: str = "msg_1",
    secret: str = SECRET,
    age: timedelta = timedelta(0),
) -> dict[str, str]:
    sent = datetime.now(UTC) - age
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }


@pytest.fixture
def connector() -> FakeConnector:
    source = FakeConnector(TIME)
    source.put("time_entry", time_entry("1", "APPROVED"))
    return source


@pytest.fixture
async def client(connector: FakeConnector, ingest: Ingest) -> AsyncIterator[httpx.AsyncClient]:
    receiver = WebhookReceiver(
        {TIME: connector}, lambda system: [SECRET] if system is TIME else [], ingest
    )
    app = Starlette(routes=receiver.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


async def test_a_verified_push_is_re_read_and_persisted_before_the_answer(
    client: httpx.AsyncClient, connector: FakeConnector, store: Store
):
    body = notification()

    response = await client.post("/webhooks/time", content=body, headers=signed(body))

    assert response.status_code == 200
    events = await store.events.read_after(None)
    assert [e.type for e in events] == ["TimeApproved"]
    assert response.json() == {"duplicate": False, "events": [str(events[0].cursor)]}
    assert connector.calls == ["get_many time_entry"]


async def test_a_replayed_webhook_id_is_acknowledged_and_not_stored_twice(
    client: httpx.AsyncClient, connector: FakeConnector, store: Store
):
    body = notification()
    await client.post("/webhooks/time", content=body, headers=signed(body))
    connector.put("time_entry", time_entry("1", "INVOICED"))  # would be news if applied

    again = await client.post("/webhooks/time", content=body, headers=signed(body))

    assert again.status_code == 200
    assert again.json() == {"duplicate": True, "events": []}
    assert [e.type for e in await store.events.read_after(None)] == ["TimeApproved"]


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


BODY = notification()


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        pytest.param(
            "/webhooks/time", BODY, lambda: signed(BODY, secret=OTHER), 401, id="bad-signature"
        ),
        pytest.param(
            "/webhooks/time", BODY + " ", lambda: signed(BODY), 401, id="body-changed-after-signing"
        ),
        pytest.param(
            "/webhooks/time",
            BODY,
            lambda: _without(signed(BODY), "webhook-signature"),
            401,
            id="missing-signature-header",
        ),
        pytest.param(
            "/webhooks/time",
            BODY,
            lambda: _without(signed(BODY), "webhook-id"),
            401,
            id="missing-id",
        ),
        pytest.param(
            "/webhooks/time",
            BODY,
            lambda: signed(BODY, age=timedelta(minutes=10)),
            401,
            id="stale-timestamp",
        ),
        pytest.param(
            "/webhooks/time",
            BODY,
            lambda: signed(BODY, age=-timedelta(minutes=10)),
            401,
            id="timestamp-from-the-future",
        ),
        pytest.param(
            "/webhooks/time", "{not json", lambda: signed("{not json"), 400, id="not-json"
        ),
        pytest.param(
            "/webhooks/time",
            '{"type": "time_entry.updated"}',
            lambda: signed('{"type": "time_entry.updated"}'),
            400,
            id="no-data",
        ),
        pytest.param(
            "/webhooks/time",
            '{"type": "time_entry.updated", "data": {"changed_fields": []}}',
            lambda: signed('{"type": "time_entry.updated", "data": {"changed_fields": []}}'),
            400,
            id="no-record-id",
        ),
        pytest.param(
            "/webhooks/time",
            '{"type": "updated", "data": {"id": "1"}}',
            lambda: signed('{"type": "updated", "data": {"id": "1"}}'),
            400,
            id="type-without-object",
        ),
        pytest.param("/webhooks/payroll", BODY, lambda: signed(BODY), 404, id="unknown-system"),
        pytest.param("/webhooks/crm", BODY, lambda: signed(BODY), 404, id="system-not-connected"),
    ],
)
async def test_a_bad_push_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    connector: FakeConnector,
    store: Store,
    path: str,
    body: str,
    headers: Callable[[], dict[str, str]],
    status: int,
):
    # Signed when the test runs: a timestamp made at collection time goes stale.
    sent = headers()
    response = await client.post(path, content=body, headers=sent)

    assert response.status_code == status
    assert "error" in response.json()
    assert await store.events.read_after(None) == []
    assert connector.calls == []  # refused before anything was read upstream
    # a refused push leaves no receipt: the same id, properly signed, is still accepted
    good = notification()
    accepted = await client.post(
        "/webhooks/time",
        content=good,
        headers=signed(good, msg_id=sent.get("webhook-id", "msg_1")),
    )
    assert accepted.json()["duplicate"] is False


async def test_a_push_whose_record_cannot_be_re_read_is_refused_for_a_retry(
    client: httpx.AsyncClient, connector: FakeConnector, store: Store
):
    connector.fail_with(unavailable(TIME))
    body = notification()

    refused = await client.post("/webhooks/time", content=body, headers=signed(body))
    connector.fail_with(None)
    retried = await client.post("/webhooks/time", content=body, headers=signed(body))

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert retried.status_code == 200
    assert [e.type for e in await store.events.read_after(None)] == ["TimeApproved"]


async def test_a_push_about_something_not_followed_is_accepted_and_ignored(
    client: httpx.AsyncClient, store: Store
):
    body = notification(kind="timesheet_lock.updated")

    response = await client.post("/webhooks/time", content=body, headers=signed(body))

    assert response.status_code == 202
    assert await store.events.read_after(None) == []


async def test_a_push_for_a_deleted_record_forgets_it(
    client: httpx.AsyncClient, connector: FakeConnector, ingest: Ingest
):
    connector.delete("time_entry", "1")
    body = notification(kind="time_entry.deleted")

    response = await client.post("/webhooks/time", content=body, headers=signed(body))

    assert response.status_code == 200
    assert response.json() == {"duplicate": False, "events": []}
