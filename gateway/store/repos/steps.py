"""Step rows: one per (workflow, step name), created with the workflow, updated as it runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select, update

from gateway.store.records import StepRecord, WorkflowStatus
from gateway.store.repos.base import Repository
from gateway.store.tables import workflow_steps


class StepRepository(Repository):
    async def create_missing(
        self, workflow_id: str, steps: Sequence[tuple[str, str | None]]
    ) -> None:
        """PENDING rows for the (name, system) pairs that have none yet, in this order."""
        if not steps:
            return
        rows = [
            {
                "workflow_id": workflow_id,
                "name": name,
                "position": position,
                "system": system,
                "status": WorkflowStatus.PENDING.value,
                "attempts": 0,
            }
            for position, (name, system) in enumerate(steps)
        ]
        statement = self._insert_ignoring(workflow_steps, ["workflow_id", "name"])
        async with self._scope.writing() as conn:
            await conn.execute(statement, rows)

    async def for_workflow(self, workflow_id: str) -> list[StepRecord]:
        """In definition order."""
        return (await self.for_workflows([workflow_id])).get(workflow_id, [])

    async def for_workflows(self, workflow_ids: Sequence[str]) -> dict[str, list[StepRecord]]:
        """Each workflow's steps in definition order; one query whatever the count."""
        if not workflow_ids:
            return {}
        statement = (
            select(workflow_steps)
            .where(workflow_steps.c.workflow_id.in_(workflow_ids))
            .order_by(workflow_steps.c.workflow_id, workflow_steps.c.position)
        )
        found: dict[str, list[StepRecord]] = defaultdict(list)
        async with self._scope.reading() as conn:
            for row in await conn.execute(statement):
                found[row.workflow_id].append(_record(row))
        return dict(found)

    async def update(self, workflow_id: str, name: str, **changes: Any) -> StepRecord:
        unknown = set(changes) - set(workflow_steps.c.keys())
        if unknown:
            raise ValueError(f"workflow_steps has no columns {sorted(unknown)}")
        values = {k: v.value if isinstance(v, WorkflowStatus) else v for k, v in changes.items()}
        async with self._scope.writing() as conn:
            row = (
                await conn.execute(
                    update(workflow_steps)
                    .where(
                        workflow_steps.c.workflow_id == workflow_id,
                        workflow_steps.c.name == name,
                    )
                    .values(**values)
                    .returning(*workflow_steps.c)
                )
            ).one()
        return _record(row)


def _record(row: Row[Any]) -> StepRecord:
    values = dict(row._mapping)
    values["status"] = WorkflowStatus(values["status"])
    return StepRecord(**values)
