"""The write side of the experience API: mutations decoded, checked and handed to the
workflow process API (`gateway.workflows.bootstrap.Workflows`, in `ctx.commands`).

Errors the caller can act on carry their own `extensions.code`:

- BAD_USER_INPUT         a malformed id, an empty key, hours out of range
- IDEMPOTENCY_CONFLICT   the key was used before with a different request
- NOT_FOUND              no such workflow
- WORKFLOW_STATE         the workflow's status does not allow it (retry a success...)
- WRITES_UNAVAILABLE     this gateway runs without a workflow engine
- BUSINESS_RULE          the systems' data does not allow it (e.g. no such TIME project)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gateway.store import IdempotencyConflictError, WorkflowRecord
from gateway.workflows import WorkflowNotFoundError, WorkflowStateError
from gateway.workflows.business import BusinessError
from gateway.workflows.time_to_billing import SubmitTime
from resolvers import ids, links
from resolvers.context import RequestContext
from resolvers.errors import InvalidInputError
from resolvers.workflow_store import workflow_view
from resolvers.workflows import WorkflowView
from sources.records import TimeEntry

if TYPE_CHECKING:
    from gateway.workflows.bootstrap import Workflows

ANONYMOUS = "anonymous"  # until authentication exists
MAX_KEY_LENGTH = 200
MAX_TIME_ENTRIES = 500
MAX_HOURS = 24.0


class MutationError(InvalidInputError):
    """A mutation refused for a reason the caller can act on; `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def principal(ctx: RequestContext) -> str:
    """The caller as the audit log records it: its token's subject and roles."""
    return ctx.principal.audit_name if ctx.principal is not None else ANONYMOUS


def commands(ctx: RequestContext) -> Workflows:
    if ctx.commands is None:
        raise MutationError("WRITES_UNAVAILABLE", "this gateway runs without a workflow engine")
    return ctx.commands


async def start_project(
    ctx: RequestContext,
    opportunity_id: str,
    idempotency_key: str,
    start_date: dt.date | None,
    manager_id: str | None,
) -> WorkflowView:
    opportunity = ids.decode(opportunity_id, "Opportunity", argument="input.opportunityId").key
    manager = _optional_key(manager_id, "Resource", "input.managerId")
    key = _key(idempotency_key, "input.idempotencyKey")
    with _translated():
        record = await commands(ctx).start_project(
            opportunity, key, start_date=start_date, manager_id=manager, principal=principal(ctx)
        )
    return await _view(ctx, record)


async def submit_time(
    ctx: RequestContext,
    project_id: str,
    resource_id: str,
    date: dt.date,
    hours: float,
    billable: bool,
    notes: str | None,
    idempotency_key: str,
) -> TimeEntry:
    if not math.isfinite(hours) or not 0 < hours <= MAX_HOURS:
        raise InvalidInputError(
            f"hours: must be more than 0 and at most {MAX_HOURS:g}, got {hours}"
        )
    command = SubmitTime(
        project_id=ids.decode(project_id, "Project", argument="projectId").key,
        resource_id=ids.decode(resource_id, "Resource", argument="resourceId").key,
        date=date,
        hours=hours,
        billable=billable,
        notes=notes,
        idempotency_key=_key(idempotency_key, "idempotencyKey"),
    )
    with _translated():
        return await commands(ctx).submit_time(command, principal=principal(ctx))


async def approve_time_entries(
    ctx: RequestContext, time_entry_ids: Sequence[str], idempotency_key: str | None
) -> WorkflowView:
    if not time_entry_ids:
        raise InvalidInputError("ids: give at least one time entry id")
    if len(time_entry_ids) > MAX_TIME_ENTRIES:
        raise InvalidInputError(f"ids: at most {MAX_TIME_ENTRIES} time entries at once")
    keys = [ids.decode(value, "TimeEntry", argument="ids").key for value in time_entry_ids]
    key = _key(idempotency_key, "idempotencyKey") if idempotency_key is not None else None
    with _translated():
        record = await commands(ctx).approve_time(
            keys, idempotency_key=key, principal=principal(ctx)
        )
    return await _view(ctx, record)


async def complete_milestone(
    ctx: RequestContext, milestone_id: str, idempotency_key: str | None
) -> WorkflowView:
    milestone = ids.decode(milestone_id, "Milestone", argument="id").key
    key = _key(idempotency_key, "idempotencyKey") if idempotency_key is not None else None
    with _translated():
        record = await commands(ctx).complete_milestone(
            milestone, idempotency_key=key, principal=principal(ctx)
        )
    return await _view(ctx, record)


async def fill_staffing_request(
    ctx: RequestContext, request_id: str, resource_id: str, idempotency_key: str
) -> WorkflowView:
    request = ids.decode(request_id, "StaffingRequest", argument="id").key
    worker = ids.decode(resource_id, "Resource", argument="resourceId").key
    _key(idempotency_key, "idempotencyKey")  # checked, but the request is the business key
    if worker.startswith(links.PSA_PREFIX):
        raise InvalidInputError("resourceId: this person has no HCM worker record to staff from")
    with _translated():
        record = await commands(ctx).fill_staffing_request(
            request, worker, principal=principal(ctx)
        )
    return await _view(ctx, record)


async def generate_invoice(
    ctx: RequestContext, project_id: str, through: dt.date, idempotency_key: str
) -> WorkflowView:
    project = ids.decode(project_id, "Project", argument="projectId").key
    key = _key(idempotency_key, "idempotencyKey")
    with _translated():
        record = await commands(ctx).generate_invoice(
            project, through, key, principal=principal(ctx)
        )
    return await _view(ctx, record)


async def retry_workflow(ctx: RequestContext, workflow_id: str) -> WorkflowView:
    key = ids.decode(workflow_id, "Workflow", argument="id").key
    with _translated():
        record = await commands(ctx).retry(key, principal=principal(ctx))
    return await _view(ctx, record)


async def cancel_workflow(ctx: RequestContext, workflow_id: str) -> WorkflowView:
    key = ids.decode(workflow_id, "Workflow", argument="id").key
    with _translated():
        record = await commands(ctx).cancel(key, principal=principal(ctx))
    return await _view(ctx, record)


# --- helpers --------------------------------------------------------------------------


async def _view(ctx: RequestContext, record: WorkflowRecord) -> WorkflowView:
    found = await commands(ctx).get(record.id)
    if found is None:  # a workflow is never deleted; seen only if the store was emptied
        raise MutationError("NOT_FOUND", f"workflow {record.id} disappeared")
    return workflow_view(*found)


def _key(value: str, argument: str) -> str:
    key = value.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(f"{argument}: give 1 to {MAX_KEY_LENGTH} characters")
    return key


def _optional_key(value: str | None, expected: str, argument: str) -> str | None:
    return ids.decode(value, expected, argument=argument).key if value is not None else None


@contextmanager
def _translated() -> Iterator[None]:
    """Turns the process API's refusals into errors with the caller's code."""
    try:
        yield
    except IdempotencyConflictError as error:
        raise MutationError("IDEMPOTENCY_CONFLICT", str(error)) from error
    except WorkflowNotFoundError as error:
        raise MutationError("NOT_FOUND", str(error)) from error
    except WorkflowStateError as error:
        raise MutationError("WORKFLOW_STATE", str(error)) from error
    except BusinessError as error:
        raise MutationError("BUSINESS_RULE", error.message) from error
