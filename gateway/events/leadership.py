"""One gateway at a time does a job; the others stand by and take over when it goes.

leader = Leadership(store.leases, "capture", ttl_s=15.0, work=capture.run)
leader.start()          # contend now and every ttl/3: lead (run `work`) or stand by
leader.role             # "leader" or "standby"
await leader.stop()     # stop the work and release the lease: a standby takes over at once

The lease is a row in the store (`LeaseRepository`). The leader renews it every third of
its time-to-live; a standby tries as often, and gets it once the leader releases it or
lets it run out (it died, or lost the store). A leader that cannot renew stops its work
before the lease could have run out, so a standby taking over never finds it still
running; one that finds the lease taken stops at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import uuid
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any, Literal, Protocol

from sqlalchemy.exc import SQLAlchemyError

from gateway.store.types import utcnow

log = logging.getLogger(__name__)

Role = Literal["leader", "standby"]


class Leases(Protocol):
    """What `Leadership` needs of the store (`Store.leases`)."""

    async def acquire(
        self, name: str, holder: str, ttl_s: float, *, now: dt.datetime | None = None
    ) -> bool: ...

    async def release(self, name: str, holder: str) -> bool: ...


class Leadership:
    def __init__(
        self,
        leases: Leases,
        name: str,
        *,
        ttl_s: float,
        work: Callable[[], Coroutine[Any, Any, None]],
        holder: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        """`work()` runs as a task while this process holds the lease `name`, and is
        cancelled when it stops holding it. `holder` names this process in the store."""
        self.name = name
        self.holder = holder or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.ttl_s = ttl_s
        self.interval_s = ttl_s / 3
        self._leases = leases
        self._work = work
        self._clock = clock
        self._working: asyncio.Task[None] | None = None
        self._held_until: dt.datetime | None = None
        self._contending: asyncio.Task[None] | None = None

    @property
    def role(self) -> Role:
        return "leader" if self._held_until is not None else "standby"

    def start(self) -> None:
        self._contending = asyncio.create_task(self._contend_forever(), name=f"lease-{self.name}")

    async def stop(self) -> None:
        """Stop contending and working, and give the lease up for a standby to take now."""
        if self._contending is not None:
            self._contending.cancel()
            with suppress(asyncio.CancelledError):
                await self._contending
            self._contending = None
        await self._step_down()
        try:
            async with asyncio.timeout(self.interval_s):
                await self._leases.release(self.name, self.holder)
        except (SQLAlchemyError, OSError, TimeoutError):
            log.warning(
                "could not release the %s lease; a standby takes it when it runs out",
                self.name,
                exc_info=True,
            )

    async def contend(self) -> Role:
        """One round: take or renew the lease, then start or stop the work to match."""
        asked = self._clock()
        try:
            async with asyncio.timeout(self.interval_s):
                held = await self._leases.acquire(self.name, self.holder, self.ttl_s, now=asked)
        except (SQLAlchemyError, OSError, TimeoutError):
            log.warning("could not reach the %s lease", self.name, exc_info=True)
            # The lease is ours until `_held_until` at most: step down once the next try
            # could end after that, so a standby never takes over while we still poll.
            if (
                self._held_until is not None
                and self._clock() + dt.timedelta(seconds=self.interval_s) >= self._held_until
            ):
                log.warning("%s: the lease may run out unrenewed; standing by", self.name)
                await self._step_down()
            return self.role
        if held:
            self._held_until = asked + dt.timedelta(seconds=self.ttl_s)
            if self._working is None:
                log.info("%s: %s leads", self.name, self.holder)
                self._working = asyncio.create_task(self._work(), name=f"led-{self.name}")
        elif self._held_until is not None:
            log.warning("%s: another process took the lease; standing by", self.name)
            await self._step_down()
        return self.role

    async def _contend_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.contend()
            except Exception:  # a bug must not leave the work running without a lease
                log.exception("%s: contending for the lease failed; standing by", self.name)
                await self._step_down()
            await asyncio.sleep(max(0.0, started + self.interval_s - loop.time()))

    async def _step_down(self) -> None:
        self._held_until = None
        working, self._working = self._working, None
        if working is not None:
            working.cancel()
            with suppress(asyncio.CancelledError):
                await working
