"""Fan-out inside a step that leaves nothing behind when it fails.

`asyncio.gather` raises the first failure but lets the other awaitables run on. Inside a
step that writes, such an orphan can land after the step's retry has looked for it and
created it again: a duplicate. Here the others are cancelled and awaited before the
failure is raised, so every write a step started has ended when the step ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def concurrently(*awaitables: Awaitable[T]) -> list[T]:
    """The results in order; on the first failure, the rest are cancelled and awaited,
    then that failure is raised as it was (not wrapped, so retry policies still see it)."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
