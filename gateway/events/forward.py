"""Pushing domain events to a downstream as Standard Webhooks.

Each event goes out as `{"type", "timestamp", "data": {cursor, subjectId, source,
occurredAt, data}}`, signed with the target's secret, with the event's cursor as the
webhook id so the receiver can drop repeats (delivery is at least once). Anything but a
2xx counts as a failure, retried and then dead-lettered by `Deliveries`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from gateway.events.deliveries import Consumer, DeliveryError
from gateway.store import EventRecord


def forward_consumer(
    name: str,
    url: str,
    secret: str,
    client: httpx.AsyncClient,
    types: frozenset[str] = frozenset(),
) -> Consumer:
    signer = Webhook(secret)

    async def push(event: EventRecord) -> None:
        sent_at = datetime.now(UTC)
        body = json.dumps(
            {
                "type": event.type,
                "timestamp": sent_at.isoformat(),
                "data": {
                    "cursor": str(event.cursor),
                    "subjectId": event.subject_id,
                    "source": event.source,
                    "occurredAt": event.occurred_at.isoformat(),
                    "data": event.data,
                },
            },
            separators=(",", ":"),
            default=str,
        )
        webhook_id = f"evt_{event.cursor}"
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signer.sign(webhook_id, sent_at, body),
        }
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"{url}: {error!r}") from error
        if not response.is_success:
            raise DeliveryError(f"{url} answered {response.status_code}")

    return Consumer(f"forward:{name}"[:50], push, types)
