"""Verifying Standard Webhooks (https://www.standardwebhooks.com): signature, age, shape.

A push is accepted only when one of the configured secrets (more than one during key
rotation) signed `{webhook-id}.{webhook-timestamp}.{body}`, the timestamp is within the
tolerance, and the body is a JSON object with a `type`. Deduplication by webhook id is the
receiver's job, against the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class WebhookRejectedError(Exception):
    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class VerifiedWebhook:
    id: str
    timestamp: datetime
    type: str
    payload: dict[str, Any]


def verify_webhook(
    secrets: Sequence[str], body: bytes, headers: Mapping[str, str]
) -> VerifiedWebhook:
    """The verified push, or `WebhookRejectedError` (401 for auth problems, 400 for the body)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    webhook_id = lowered.get("webhook-id")
    if not webhook_id or not lowered.get("webhook-timestamp"):
        raise WebhookRejectedError("missing webhook-id or webhook-timestamp header")
    if not lowered.get("webhook-signature"):
        raise WebhookRejectedError("missing webhook-signature header")
    if not secrets:
        raise WebhookRejectedError("no webhook secret configured for this system")
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        raise WebhookRejectedError("body is not UTF-8", status=400) from error
    if not any(_signed_by(secret, text, lowered) for secret in secrets):
        raise WebhookRejectedError("bad signature or stale timestamp")
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise WebhookRejectedError("body is not JSON", status=400) from error
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise WebhookRejectedError("body must be a JSON object with a string 'type'", status=400)
    return VerifiedWebhook(
        id=webhook_id,
        timestamp=datetime.fromtimestamp(float(lowered["webhook-timestamp"]), UTC),
        type=payload["type"],
        payload=payload,
    )


def _signed_by(secret: str, text: str, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(text, headers, json_parse=False)
    except (WebhookVerificationError, ValueError):
        # ValueError: a signature entry without "v1,<base64>" shape, or bad base64
        return False
    return True
