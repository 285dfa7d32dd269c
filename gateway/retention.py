"""Pruning what the store keeps only to recognise repeats: relayed outbox messages,
idempotency keys and webhook receipts. Workflows, the audit log and the event log are
records, and are kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from gateway.settings import RetentionConfig
from gateway.store import Store
from gateway.store.types import utcnow

log = logging.getLogger(__name__)


async def prune(
    store: Store, config: RetentionConfig, now: dt.datetime | None = None
) -> dict[str, int]:
    """One pass; how many rows went from each table."""
    at = now or utcnow()

    def before(days: float) -> dt.datetime:
        return at - dt.timedelta(days=days)

    return {
        "outbox": await store.outbox.prune(before(config.published_outbox_days)),
        "idempotency_keys": await store.idempotency.prune(before(config.idempotency_keys_days)),
        "webhook_receipts": await store.webhooks.prune(before(config.webhook_receipts_days)),
    }


@asynccontextmanager
async def retention_running(
    store: Store, config: RetentionConfig, clock: Callable[[], dt.datetime] = utcnow
) -> AsyncIterator[None]:
    """A pruning pass now and every `config.every_s` for the life of the block."""

    async def loop() -> None:
        while True:
            try:
                pruned = await prune(store, config, clock())
                if any(pruned.values()):
                    log.info("pruned %s", pruned)
            except Exception:
                # A busy or briefly unreachable store: the next pass catches up.
                log.exception("pruning failed")
            await asyncio.sleep(config.every_s)

    task = asyncio.create_task(loop(), name="retention")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
