"""Business keys: one workflow per business fact, whoever starts it with whatever key.

An idempotency key says "this request again"; a business key says "this deal's project"
or "this milestone's invoice". Two people (or a person and an automation) starting
quote-to-project for one opportunity send different idempotency keys but mean one
project, so the engine claims the workflow's business key in the same transaction that
creates it:

    key = BusinessKey("quote_to_project", opportunity_id)
    holder = await key.claim(tx, workflow_id, now)   # None: ours; else the owner

A claim stays with its workflow while it runs, parks or succeeds, so a later start joins
or returns it. It is freed when its workflow ends having changed nothing for good
(CANCELLED or COMPENSATED; a kind may add FAILED when a failure makes nothing), and the
next start takes it over. Everything a workflow creates upstream carries a reference
derived from the business key, so no path can make a second copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.store import Transaction, WorkflowRecord, WorkflowStatus

FREED_BY = frozenset({WorkflowStatus.CANCELLED, WorkflowStatus.COMPENSATED})
MAX_TAKEOVER_RACES = 5


@dataclass(frozen=True)
class BusinessKey:
    kind: str  # the workflow kind that owns it
    subject: str  # what it is about: an opportunity id, "project:day", ...
    freed_by: frozenset[WorkflowStatus] = field(default=FREED_BY, compare=False)
    # A workflow about several facts at once (the entries of one approval) claims each
    # part; it runs if it gets at least one, and otherwise joins the owner of the first.
    parts: tuple[str, ...] = ()

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def values(self) -> list[str]:
        return [f"{self.kind}:{part}" for part in self.parts] or [self.value]

    def reference(self, *parts: object) -> str:
        """An upstream external reference for something made under this key."""
        return ":".join([self.value, *(str(part) for part in parts)])

    async def claim(
        self, tx: Transaction, workflow_id: str, now: dt.datetime
    ) -> WorkflowRecord | None:
        """Claim the key for `workflow_id` (to be created in `tx`): None when it is ours,
        otherwise the workflow that owns it and has not let it go."""
        owners = [await self._claim_one(tx, value, workflow_id, now) for value in self.values]
        if any(owner is None for owner in owners):
            return None
        return owners[0]

    async def owners(self, tx: Transaction) -> set[str]:
        """The workflows that own the key (or its parts) now."""
        found = {await tx.business_keys.holder(value) for value in self.values}
        return {owner for owner in found if owner is not None}

    async def _claim_one(
        self, tx: Transaction, value: str, workflow_id: str, now: dt.datetime
    ) -> WorkflowRecord | None:
        for _ in range(MAX_TAKEOVER_RACES):
            if await tx.business_keys.claim(value, self.kind, workflow_id, now):
                return None
            holder_id = await tx.business_keys.holder(value)
            if holder_id is None:
                continue  # freed between the two statements: claim again
            holder = await tx.workflows.get(holder_id)
            if holder is not None and holder.status not in self.freed_by:
                return holder
            if await tx.business_keys.take_over(value, holder_id, workflow_id, now):
                return None
        raise RuntimeError(f"business key {value} kept changing hands")


def digest(values: Iterable[str]) -> str:
    """A short stable name for a set of ids (order and repeats do not matter)."""
    joined = "\n".join(sorted(set(values)))
    return hashlib.sha256(joined.encode()).hexdigest()[:24]
