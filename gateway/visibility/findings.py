"""What a detector reports: one condition about one subject, and who owns fixing it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sources.records import SourceSystem


class ExceptionKind(StrEnum):
    PROJECT_MISSING_FINANCE_CODE = "PROJECT_MISSING_FINANCE_CODE"
    CONTRACT_WITHOUT_BILLING_SCHEDULE = "CONTRACT_WITHOUT_BILLING_SCHEDULE"
    APPROVED_TIME_ON_CLOSED_PROJECT = "APPROVED_TIME_ON_CLOSED_PROJECT"
    APPROVED_TIME_NOT_POSTED = "APPROVED_TIME_NOT_POSTED"
    DUPLICATE_CUSTOMER = "DUPLICATE_CUSTOMER"
    INVOICE_BLOCKED = "INVOICE_BLOCKED"
    STAFFING_REQUEST_UNASSIGNED = "STAFFING_REQUEST_UNASSIGNED"
    RESOURCE_CONFLICT = "RESOURCE_CONFLICT"
    WORKFLOW_NEEDS_ATTENTION = "WORKFLOW_NEEDS_ATTENTION"
    SOURCE_DEGRADED = "SOURCE_DEGRADED"


class Team(StrEnum):
    FINANCE = "FINANCE"
    PMO = "PMO"
    INTEGRATION = "INTEGRATION"


class ExceptionStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


# Finance fixes what blocks billing; the PMO what is about projects and people; the
# integration team what is about the systems and the flows between them.
OWNER_TEAM: dict[ExceptionKind, Team] = {
    ExceptionKind.PROJECT_MISSING_FINANCE_CODE: Team.FINANCE,
    ExceptionKind.CONTRACT_WITHOUT_BILLING_SCHEDULE: Team.FINANCE,
    ExceptionKind.APPROVED_TIME_ON_CLOSED_PROJECT: Team.PMO,
    ExceptionKind.APPROVED_TIME_NOT_POSTED: Team.FINANCE,
    ExceptionKind.DUPLICATE_CUSTOMER: Team.FINANCE,
    ExceptionKind.INVOICE_BLOCKED: Team.FINANCE,
    ExceptionKind.STAFFING_REQUEST_UNASSIGNED: Team.PMO,
    ExceptionKind.RESOURCE_CONFLICT: Team.PMO,
    ExceptionKind.WORKFLOW_NEEDS_ATTENTION: Team.INTEGRATION,
    ExceptionKind.SOURCE_DEGRADED: Team.INTEGRATION,
}


@dataclass(frozen=True)
class Finding:
    """One condition as a detector sees it now.

    `subject_key` is the native id of the thing it is about in `source` (its GraphQL type
    is `subject_type`); with `kind` it names the exception, so finding it again on the
    next scan is the same exception.
    """

    kind: ExceptionKind
    subject_type: str | None
    subject_key: str
    source: SourceSystem | None
    summary: str
    suggested_action: str | None = None
    amount_at_risk: Decimal | None = None
    currency: str | None = None
    since: dt.datetime | None = None  # when the condition began, where the data says

    @property
    def id(self) -> str:
        return f"{self.kind.value}:{self.subject_key}"
