"""What a step function receives: its workflow's input, upstream outputs, and a way to
write to the store in the same transaction that records the step's success."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.store import Store, Transaction
    from gateway.workflows.keys import BusinessKey

Write = Callable[["Transaction"], Awaitable[object]]


@dataclass
class StepContext:
    """One attempt of one step (or of its compensation).

    `outputs` holds the outputs of the steps this one comes after, directly or not
    (during compensation: of every step that succeeded). `output` is this step's own
    output, set only when compensating it.
    """

    workflow_id: str
    kind: str
    step: str
    input: Mapping[str, Any]
    outputs: Mapping[str, Any]
    attempt: int
    principal: str | None
    store: Store
    output: Any = None
    business_key: BusinessKey | None = None
    writes: list[Write] = field(default_factory=list)

    @property
    def idempotency_key(self) -> str:
        """Stable across attempts and restarts: give it to vendors that dedupe by key."""
        return f"{self.workflow_id}:{self.step}"

    def reference(self, *parts: object) -> str:
        """An external reference for something this step makes: from the business key
        when the workflow has one (so no other workflow can make it again), else from
        the workflow."""
        if self.business_key is not None:
            return self.business_key.reference(*parts)
        return ":".join([self.idempotency_key, *(str(part) for part in parts)])

    def on_success(self, write: Write) -> None:
        """Run `write(tx)` inside the transaction that marks this step done.

        Either both commit or neither does: a crosswalk link or an audit entry can never
        exist for a step the store does not show as done, nor the other way round.
        """
        self.writes.append(write)

    def link(self, entity: str, global_key: str, system: str, native_id: str) -> None:
        """Record a crosswalk link, committed with the step's success."""

        async def write(tx: Transaction) -> object:
            return await tx.crosswalk.link(
                entity, global_key, system, native_id, workflow_id=self.workflow_id
            )

        self.on_success(write)

    def audit(
        self,
        action: str,
        system: str | None,
        object_type: str,
        object_id: str,
        before: Any,
        after: Any,
        *,
        principal: str | None = None,
    ) -> None:
        """Record an audit entry, committed with the step's success.

        The principal defaults to whoever started the workflow.
        """
        who = principal or self.principal or f"workflow:{self.kind}"

        async def write(tx: Transaction) -> object:
            return await tx.audit.record(
                who, action, system, object_type, object_id, before, after, self.workflow_id
            )

        self.on_success(write)
