"""A finished transaction is freed by reference counting, with its repositories and its
connection's wrapper: a cycle between them left every one to the cycle collector."""

from __future__ import annotations

import gc

from gateway.store import Store
from gateway.store.store import Transaction


async def test_a_finished_transaction_leaves_no_cycle(store: Store):
    async with store.transaction() as tx:  # the first builds what every one shares
        await tx.events.append("Warmed", {})
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in range(3):
            async with store.transaction() as tx:
                await tx.events.last_cursor()
                await tx.events.append("Written", {"n": n})
            async with store.snapshot() as tx:
                await tx.events.last_cursor()
        gc.collect()
        left = [item for item in gc.garbage if isinstance(item, Transaction)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert left == []
