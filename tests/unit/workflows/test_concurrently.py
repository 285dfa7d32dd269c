"""Fan-out inside a step: results in order, and a failure leaves no write running."""

from __future__ import annotations

import asyncio

import pytest

from gateway.workflows.concurrently import concurrently
from sources.errors import RateLimited
from sources.records import SourceSystem


async def test_the_results_come_back_in_the_order_asked() -> None:
    async def after(delay: float, value: int) -> int:
        await asyncio.sleep(delay)
        return value

    assert await concurrently(after(0.03, 1), after(0.0, 2), after(0.01, 3)) == [1, 2, 3]


async def test_a_failure_ends_the_others_before_it_is_raised_as_it_was() -> None:
    finished: list[str] = []
    cancelled: list[str] = []

    async def write(name: str) -> str:
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise
        finished.append(name)
        return name

    async def refused() -> str:
        await asyncio.sleep(0.01)
        raise RateLimited(SourceSystem.PSA, "slow down", retry_after=1.0)

    with pytest.raises(RateLimited):
        await concurrently(write("a"), refused(), write("b"))

    # Nothing is left to land after the step's retry has looked for it.
    assert sorted(cancelled) == ["a", "b"]
    await asyncio.sleep(0.3)
    assert finished == []
