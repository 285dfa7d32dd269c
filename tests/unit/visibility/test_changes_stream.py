"""`exceptionsChanged` as the resolver streams it: a subscriber that falls behind the
monitor's announcements is ended with an error saying so, never in silence (an ending
without error would read as "nothing more changes")."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLError

from gateway.events.bus import Broadcast
from gateway.settings import VisibilityConfig
from gateway.store import Store
from gateway.visibility.monitor import CHANNEL, ExceptionMonitor
from resolvers.visibility import changes


async def test_a_subscriber_that_falls_behind_is_ended_with_an_error(store: Store) -> None:
    async with Broadcast("memory://", buffer=2) as bus:
        watcher = ExceptionMonitor(VisibilityConfig(monitor=True), store, {}, detectors=[])
        ctx: Any = SimpleNamespace(visibility=watcher, live=SimpleNamespace(bus=bus))
        stream = changes(ctx, owner_team=None)
        following = asyncio.ensure_future(anext(stream))
        async with asyncio.timeout(5):
            while bus.subscriber_count == 0:
                await asyncio.sleep(0)
            for n in range(10):  # announcements of exceptions the store no longer has
                await bus.publish(CHANNEL, f"INVOICE_BLOCKED:{n}")

            with pytest.raises(GraphQLError) as ended:
                await following

    assert ended.value.extensions == {"code": "SLOW_CONSUMER"}
    assert "read `exceptions` again" in ended.value.message
