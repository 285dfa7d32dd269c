"""Which workflow fixes which exception, and starting it (audited).

- PROJECT_MISSING_FINANCE_CODE: `remedy_finance_code` creates the ERP job and its
  billing schedule and links the job to the project;
- CONTRACT_WITHOUT_BILLING_SCHEDULE: `remedy_billing_schedule` creates it from the contract;
- APPROVED_TIME_NOT_POSTED: `approve_time` for the entry posts it to the ERP;
- WORKFLOW_NEEDS_ATTENTION: the parked workflow is retried.

The exception itself is not changed here: it resolves when the next check finds the
condition gone, whatever fixed it.
"""

from __future__ import annotations

from gateway.store import Store, WorkflowRecord
from gateway.store.records import BusinessExceptionRow
from gateway.visibility.findings import ExceptionKind
from gateway.workflows import remedies
from gateway.workflows.bootstrap import Workflows

REMEDIABLE = frozenset(
    {
        ExceptionKind.PROJECT_MISSING_FINANCE_CODE,
        ExceptionKind.CONTRACT_WITHOUT_BILLING_SCHEDULE,
        ExceptionKind.APPROVED_TIME_NOT_POSTED,
        ExceptionKind.WORKFLOW_NEEDS_ATTENTION,
    }
)


class NoRemedyError(ValueError):
    """This exception has no workflow that fixes it."""


async def remediate(
    row: BusinessExceptionRow,
    idempotency_key: str,
    workflows: Workflows,
    store: Store,
    principal: str,
) -> WorkflowRecord:
    kind = ExceptionKind(row.kind)
    key = row.subject_key or ""
    if kind is ExceptionKind.PROJECT_MISSING_FINANCE_CODE:
        record = await workflows.remedy(
            remedies.FINANCE_CODE, key, idempotency_key, principal=principal
        )
    elif kind is ExceptionKind.CONTRACT_WITHOUT_BILLING_SCHEDULE and row.subject_type == "Project":
        record = await workflows.remedy(
            remedies.BILLING_SCHEDULE, key, idempotency_key, principal=principal
        )
    elif kind is ExceptionKind.APPROVED_TIME_NOT_POSTED:
        record = await workflows.approve_time(
            [key], idempotency_key=idempotency_key, principal=principal
        )
    elif kind is ExceptionKind.WORKFLOW_NEEDS_ATTENTION:
        record = await workflows.retry(key, principal=principal)
    else:
        raise NoRemedyError(f"{row.kind} exceptions have no remedy workflow; fix them at source")
    await store.audit.record(
        principal, "exception.remediate", None, "BusinessException", row.id,
        {"status": row.status}, {"workflow": record.id, "kind": record.kind}, record.id,
    )  # fmt: skip
    return record
