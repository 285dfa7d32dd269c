"""The Mutation root: orchestrated writes across the source systems.

Mutations that touch several systems start a durable workflow and return it at once
(its `status` and `steps` show progress; `Workflow.result` is what it made). Arguments
are global ids; the resolvers in `resolvers.mutations` decode and check them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

from resolvers import mutations as resolve
from schema.common import GatewayInfo, context
from schema.timesheets import TimeEntry
from schema.workflows import Workflow

F = TypeVar("F", bound=Callable[..., Any])


def _mutation(description: str) -> Callable[[F], F]:
    """`@strawberry.mutation(description=...)`, typed for mypy."""
    return cast(Callable[[F], F], strawberry.mutation(description=description))


@strawberry.input(description="Start quote-to-project for a closed-won opportunity.")
class StartProjectInput:
    opportunity_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="The same key returns the same workflow; with other input it is refused."
    )
    start_date: dt.date | None = None
    manager_id: strawberry.ID | None = strawberry.field(
        default=None, description="The Resource who manages the project."
    )


@strawberry.type
class Mutation:
    @_mutation(
        "Quote-to-project: check the opportunity is won, ensure the ERP "
        "customer, create the PSA project, the ERP job and billing schedule, raise "
        "staffing requests, set the finance code and write the project back to the CRM."
    )
    async def start_project_from_opportunity(
        self, info: GatewayInfo, input: StartProjectInput
    ) -> Workflow:
        view = await resolve.start_project(
            context(info),
            str(input.opportunity_id),
            input.idempotency_key,
            input.start_date,
            str(input.manager_id) if input.manager_id is not None else None,
        )
        return Workflow.of(view)

    @_mutation("Record time in TIME; the same key returns the same entry.")
    async def submit_time(
        self,
        info: GatewayInfo,
        project_id: strawberry.ID,
        resource_id: strawberry.ID,
        date: dt.date,
        hours: float,
        billable: bool,
        idempotency_key: str,
        notes: str | None = None,
    ) -> TimeEntry:
        entry = await resolve.submit_time(
            context(info),
            str(project_id),
            str(resource_id),
            date,
            hours,
            billable,
            notes,
            idempotency_key,
        )
        return TimeEntry.of(entry)

    @_mutation(
        "Time-to-billing: approve in TIME, then post the approved hours to the "
        "ERP with client, project, practice and region dimensions."
    )
    async def approve_time_entries(
        self,
        info: GatewayInfo,
        ids: list[strawberry.ID],
        idempotency_key: str | None = None,
    ) -> Workflow:
        view = await resolve.approve_time_entries(
            context(info), [str(i) for i in ids], idempotency_key
        )
        return Workflow.of(view)

    @_mutation("Complete a milestone in PSA and bill it in the ERP.")
    async def complete_milestone(
        self, info: GatewayInfo, id: strawberry.ID, idempotency_key: str | None = None
    ) -> Workflow:
        view = await resolve.complete_milestone(context(info), str(id), idempotency_key)
        return Workflow.of(view)

    @_mutation(
        "Fill a staffing request: re-check the person is active and free, book them on the "
        "project in the PSA and mark the request filled. One fill per request, whatever the "
        "idempotency key: a later call returns the running or finished fill."
    )
    async def fill_staffing_request(
        self,
        info: GatewayInfo,
        id: strawberry.ID,
        resource_id: strawberry.ID,
        idempotency_key: str,
    ) -> Workflow:
        view = await resolve.fill_staffing_request(
            context(info), str(id), str(resource_id), idempotency_key
        )
        return Workflow.of(view)

    @_mutation(
        "Invoice a project's approved, unbilled time and completed milestones "
        "up to `through` in the ERP, and mark the time invoiced in TIME."
    )
    async def generate_invoice(
        self, info: GatewayInfo, project_id: strawberry.ID, through: dt.date, idempotency_key: str
    ) -> Workflow:
        view = await resolve.generate_invoice(
            context(info), str(project_id), through, idempotency_key
        )
        return Workflow.of(view)

    @_mutation("Run a NEEDS_ATTENTION or FAILED workflow again.")
    async def retry_workflow(self, info: GatewayInfo, id: strawberry.ID) -> Workflow:
        return Workflow.of(await resolve.retry_workflow(context(info), str(id)))

    @_mutation("Cancel a workflow, undoing what it made.")
    async def cancel_workflow(self, info: GatewayInfo, id: strawberry.ID) -> Workflow:
        return Workflow.of(await resolve.cancel_workflow(context(info), str(id)))
