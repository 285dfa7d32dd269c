"""Pruning: what only guards against repeats goes once it is old enough; what is still
owed (an unrelayed message) or still young stays."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from gateway.retention import prune, retention_running
from gateway.settings import RetentionConfig
from gateway.store import Store
from gateway.store.types import utcnow

CONFIG = RetentionConfig(
    published_outbox_days=1, idempotency_keys_days=30, webhook_receipts_days=7, every_s=3600
)


async def _one_of_each(store: Store) -> int:
    """A relayed message, an unrelayed one, an idempotency key and a webhook receipt;
    the unrelayed message's id."""
    relayed = await store.outbox.add("workflow.progress", {"n": 1})
    owed = await store.outbox.add("workflow.progress", {"n": 2})
    await store.outbox.mark_published([relayed])
    await store.idempotency.claim("time.submit", "ts-1", "hash")
    assert await store.webhooks.record("msg_1", "crm")
    return owed


async def test_a_week_on_relayed_messages_and_receipts_go_and_young_keys_stay(
    store: Store,
) -> None:
    owed = await _one_of_each(store)

    pruned = await prune(store, CONFIG, now=utcnow() + dt.timedelta(days=8))

    assert pruned == {"outbox": 1, "idempotency_keys": 0, "webhook_receipts": 1}
    assert [m.id for m in await store.outbox.fetch_unpublished()] == [owed]
    assert await store.idempotency.get("time.submit", "ts-1") is not None
    assert await store.webhooks.record("msg_1", "crm")  # forgotten: new again


async def test_nothing_young_is_pruned(store: Store) -> None:
    await _one_of_each(store)

    pruned = await prune(store, CONFIG)

    assert pruned == {"outbox": 0, "idempotency_keys": 0, "webhook_receipts": 0}
    assert not await store.webhooks.record("msg_1", "crm")


async def test_a_running_gateway_prunes_at_start_and_stops_with_its_block(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await _one_of_each(store)
    later = utcnow() + dt.timedelta(days=31)
    caplog.set_level(logging.INFO, logger="gateway.retention")

    async with retention_running(store, CONFIG, clock=lambda: later):
        async with asyncio.timeout(5):
            while not any(r.message.startswith("pruned") for r in caplog.records):
                await asyncio.sleep(0.01)
    assert await store.idempotency.get("time.submit", "ts-1") is None
    tasks = {task.get_name() for task in asyncio.all_tasks()}

    assert "retention" not in tasks
    assert await store.webhooks.record("msg_1", "crm")
