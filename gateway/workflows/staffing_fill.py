"""Resource to delivery: fill a staffing request with a person from the HCM.

    check (HCM, PSA) ── book (PSA) ── mark_filled (PSA)

`check` re-reads everything the choice was made on: the person is active in the HCM, has a
PSA user, and still has the request's hours free in every week of its window (capacity
minus PSA bookings); otherwise the workflow fails with a business error that says why.
`book` creates the person's participation in the workspace only if they have none (a
participation is one person's one membership of a workspace), and `mark_filled` sets the
request FILLED with that person, which change capture then announces as
`StaffingRequestFilled`. The request is the business key: `Workflows.fill_staffing_request`
returns the running or finished fill of a request to every later caller, whatever their key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import partial
from typing import Any, cast

from gateway.staffing_rank import DEFAULT_HOURS, available_hours, window
from gateway.store import WorkflowStatus
from gateway.workflows.business import BusinessError
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.keys import FREED_BY, BusinessKey
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from sources.records import Assignment, Project, PsaUser, StaffingRequest, Worker

KIND = "fill_staffing_request"


def fill_input(request_id: str, worker_id: str, today: date) -> dict[str, Any]:
    return {"request_id": request_id, "worker_id": worker_id, "today": today.isoformat()}


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    """One fill per request; a fill that failed (the person was not available) made
    nothing, so the next fill of the request may run."""
    return BusinessKey(KIND, input["request_id"], FREED_BY | {WorkflowStatus.FAILED})


async def check(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    request_id, worker_id = ctx.input["request_id"], ctx.input["worker_id"]
    request = (await systems.psa.get_many("staffing_request", [request_id]))[0]
    if not isinstance(request, StaffingRequest):
        raise BusinessError("REQUEST_NOT_FOUND", f"PSA has no staffing request {request_id}")
    worker = (await systems.hcm.get_many("worker", [worker_id]))[0]
    if not isinstance(worker, Worker):
        raise BusinessError("PERSON_NOT_FOUND", f"the HCM has no worker {worker_id}")
    if not worker.active:
        raise BusinessError("PERSON_INACTIVE", f"{worker.name} is no longer active")
    users = await systems.psa.list("user", {"search": worker.email or worker.name}, page_size=50)
    user = next((u for u in users.items if cast(PsaUser, u).employee_number == worker.id), None)
    if user is None:
        raise BusinessError("NO_PSA_USER", f"{worker.name} has no PSA user to book")
    if request.status == "FILLED" and request.assigned_user_id != user.id:
        raise BusinessError("ALREADY_FILLED", f"request {request_id} is filled by another")
    if request.status == "CANCELLED":
        raise BusinessError("REQUEST_CANCELLED", f"request {request_id} was cancelled")
    project = (await systems.psa.get_many("project", [request.project_id]))[0]
    end = project.end_date if isinstance(project, Project) else None
    start, finish = window(request.start_date, end, date.fromisoformat(ctx.input["today"]))
    bookings = await _bookings(systems, user.id)
    on_project = [b for b in bookings if b.project_id == request.project_id]
    if not on_project:  # booked here already (a rerun): the hours are theirs
        wanted = request.hours_per_week or DEFAULT_HOURS
        free = available_hours(worker.weekly_capacity_hours, bookings, start, finish)
        if free < wanted:
            raise BusinessError(
                "PERSON_UNAVAILABLE",
                f"{worker.name} has {free:g} free hours a week in the tightest week from "
                f"{start} to {finish}; the request needs {wanted:g}",
            )
    return {
        "user_id": user.id,
        "project_id": request.project_id,
        "role": request.role,
        "hours_per_week": request.hours_per_week,
        "start_date": start.isoformat(),
        "end_date": end.isoformat() if end else None,
    }


async def book(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    checked = ctx.outputs["check"]
    assignment = await systems.psa.book(
        checked["project_id"],
        checked["user_id"],
        role=checked["role"],
        hours_per_week=checked["hours_per_week"],
        start_date=date.fromisoformat(checked["start_date"]),
        end_date=date.fromisoformat(checked["end_date"]) if checked["end_date"] else None,
    )
    ctx.audit(
        "psa.assignment.book", "PSA", "Assignment", assignment.id, None,
        {"project": assignment.project_id, "user": assignment.user_id,
         "hoursPerWeek": assignment.hours_per_week},
    )  # fmt: skip
    return {"assignment_id": assignment.id}


async def mark_filled(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    checked = ctx.outputs["check"]
    request_id = ctx.input["request_id"]
    filled = await systems.psa.fill_staffing_request(request_id, checked["user_id"])
    ctx.audit(
        "psa.staffing_request.fill", "PSA", "StaffingRequest", request_id,
        {"status": "OPEN"}, {"status": filled.status, "assignedUser": checked["user_id"]},
    )  # fmt: skip
    return {"request_id": request_id, "status": filled.status}


async def _bookings(systems: Systems, user_id: str) -> list[Assignment]:
    found: list[Assignment] = []
    cursor: str | None = None
    while True:
        page = await systems.psa.list(
            "assignment", {"user_id": [user_id]}, page_size=200, cursor=cursor
        )
        found.extend(cast(Assignment, a) for a in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _result(outputs: Mapping[str, Any]) -> dict[str, str]:
    return {"type": "StaffingRequest", "key": outputs["mark_filled"]["request_id"]}


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    return WorkflowDefinition(
        KIND,
        steps=[
            Step("check", partial(check, systems), system="HCM", retry=retry),
            Step(
                "book",
                partial(book, systems),
                after=["check"],
                system="PSA",
                retry=retry,
                on_failure=OnFailure.PARK,
            ),
            Step(
                "mark_filled",
                partial(mark_filled, systems),
                after=["book"],
                system="PSA",
                retry=retry,
                on_failure=OnFailure.PARK,
            ),
        ],
        on_failure=OnFailure.COMPENSATE,  # a failed check has made nothing: FAILED
        result=_result,
        business_key=business_key,
    )
