"""Standard Webhooks verification: only signed, fresh, well-formed pushes get through."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from gateway.events.webhooks import WebhookRejectedError, verify_webhook

SECRET = "whsec_" + base64.b64encode(b"a" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"b" * 32).decode()
BODY = json.dumps({"type": "invoice.updated", "data": {"id": "600001"}})


def signed(
    body: str = BODY, *, secret: str = SECRET, age: timedelta = timedelta(0), msg_id: str = "msg_1"
) -> dict[str, str]:
    sent = datetime.now(UTC) - age
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }


def test_a_signed_fresh_push_is_accepted() -> None:
    verified = verify_webhook([SECRET], BODY.encode(), signed())
    assert verified.id == "msg_1"
    assert verified.type == "invoice.updated"
    assert verified.payload["data"] == {"id": "600001"}


def test_any_current_secret_verifies_during_key_rotation() -> None:
    assert verify_webhook([OTHER, SECRET], BODY.encode(), signed()).id == "msg_1"


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        pytest.param(BODY, lambda: signed(secret=OTHER), 401, id="wrong-secret"),
        pytest.param(BODY + " ", lambda: signed(), 401, id="body-altered-after-signing"),
        pytest.param(BODY, lambda: signed(age=timedelta(minutes=10)), 401, id="stale-timestamp"),
        pytest.param(BODY, lambda: signed(age=-timedelta(minutes=10)), 401, id="future-timestamp"),
        pytest.param(BODY, lambda: _without(signed(), "webhook-signature"), 401, id="no-signature"),
        pytest.param(BODY, lambda: _without(signed(), "webhook-id"), 401, id="no-id"),
        pytest.param(BODY, lambda: _without(signed(), "webhook-timestamp"), 401, id="no-timestamp"),
        pytest.param(
            BODY, lambda: {**signed(), "webhook-signature": "garbage"}, 401, id="garbled-sig"
        ),
        pytest.param(BODY, lambda: {**signed(), "webhook-id": "msg_2"}, 401, id="id-swapped"),
        pytest.param("not json", lambda: signed("not json"), 400, id="signed-but-not-json"),
        pytest.param("[1, 2]", lambda: signed("[1, 2]"), 400, id="signed-but-not-an-object"),
        pytest.param('{"data": {}}', lambda: signed('{"data": {}}'), 400, id="signed-without-type"),
    ],
)
def test_bad_pushes_are_rejected_with_a_reason(
    body: str, headers: Callable[[], dict[str, str]], status: int
) -> None:
    # Headers are signed when the test runs: a timestamp made at collection time
    # would go stale in a long test session.
    with pytest.raises(WebhookRejectedError) as rejected:
        verify_webhook([SECRET], body.encode(), headers())
    assert rejected.value.status == status
    assert rejected.value.reason


def test_a_system_without_secrets_accepts_nothing() -> None:
    with pytest.raises(WebhookRejectedError, match="no webhook secret"):
        verify_webhook([], BODY.encode(), signed())
