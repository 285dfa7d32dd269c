"""Domain events: what happened to the firm, derived from what changed in a source.

A source change is a canonical record seen anew (by polling, the pull feed, or a push).
`events_for_change` turns it into zero or more domain events, given the status it had
when last seen (None when it was never seen). Each event carries a `dedup_key` built from
the record's identity and version, so the same change seen twice — by a poll and by a
push, or by two gateway processes — is appended to the log once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sources.records import (
    Invoice,
    Milestone,
    Opportunity,
    Project,
    Record,
    SourceSystem,
    StaffingRequest,
    TimeEntry,
    TimePosting,
)

EVENT_TYPES = frozenset(
    {
        "OpportunityClosedWon",
        "ProjectCreated",
        "ProjectStatusChanged",
        "MilestoneCompleted",
        "StaffingRequestFilled",
        "TimeSubmitted",
        "TimeApproved",
        "TimePostedToErp",
        "InvoicePosted",
        "InvoicePaid",
        "WorkflowStepChanged",
        "WorkflowFinished",
        "SourceHealthChanged",
    }
)


@dataclass(frozen=True)
class Subject:
    """What an event is about: a GraphQL type and the key its global id encodes."""

    type: str  # "Project", "Invoice", ...
    key: str  # the native id in the owning system


@dataclass(frozen=True)
class DomainEvent:
    type: str
    source: SourceSystem | None
    subject: Subject | None
    data: dict[str, Any]
    dedup_key: str | None
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown domain event type {self.type!r}")


# (entity, new status) -> event type, per canonical record type
_STATUS_EVENTS: dict[type[Record], tuple[str, dict[str, str]]] = {
    Opportunity: ("Opportunity", {"CLOSED_WON": "OpportunityClosedWon"}),
    Milestone: ("Milestone", {"COMPLETED": "MilestoneCompleted"}),
    StaffingRequest: ("StaffingRequest", {"FILLED": "StaffingRequestFilled"}),
    TimeEntry: ("TimeEntry", {"SUBMITTED": "TimeSubmitted", "APPROVED": "TimeApproved"}),
    Invoice: ("Invoice", {"POSTED": "InvoicePosted", "PAID": "InvoicePaid"}),
}


def status_of(record: Record) -> str | None:
    if isinstance(record, Opportunity):
        return record.stage
    status = getattr(record, "status", None)
    return status if isinstance(status, str) else None


def events_for_change(
    system: SourceSystem, record: Record, previous_status: str | None, *, seen_before: bool
) -> list[DomainEvent]:
    """The domain events a changed record implies; empty when nothing business-worthy moved."""
    status = status_of(record)
    version = record.modified_at.isoformat() if record.modified_at else "-"

    def event(
        kind: str, subject_type: str, data: dict[str, Any], key: str, subject_key: str = ""
    ) -> DomainEvent:
        return DomainEvent(
            type=kind,
            source=system,
            subject=Subject(subject_type, subject_key or record.id),
            data={"id": record.id, **data},
            dedup_key=key,
            occurred_at=record.modified_at or datetime.now(UTC),
        )

    if isinstance(record, Project):
        if not seen_before:
            return [
                event(
                    "ProjectCreated", "Project", {"status": status}, f"ProjectCreated:{record.id}"
                )
            ]
        if status != previous_status:
            return [
                event(
                    "ProjectStatusChanged",
                    "Project",
                    {"from": previous_status, "to": status},
                    f"ProjectStatusChanged:{record.id}:{status}:{version}",
                )
            ]
        return []
    if isinstance(record, TimePosting):
        if seen_before:
            return []
        return [
            event(
                "TimePostedToErp",
                "TimeEntry",
                {"jobId": record.job_id, "hours": record.hours, "posting": record.id},
                f"TimePostedToErp:{record.time_entry_id}",
                subject_key=record.time_entry_id,
            )
        ]
    mapping = _STATUS_EVENTS.get(type(record))
    if mapping is None or status is None or status == previous_status:
        return []
    subject_type, by_status = mapping
    kind = by_status.get(status)
    if kind is None:
        return []
    # One event per record reaching this status (a status reached once stays reached).
    return [
        event(kind, subject_type, {"from": previous_status, "to": status}, f"{kind}:{record.id}")
    ]


def workflow_event(kind: str, workflow_id: str, data: dict[str, Any], version: str) -> DomainEvent:
    return DomainEvent(
        type=kind,
        source=None,
        subject=Subject("Workflow", workflow_id),
        data={"workflowId": workflow_id, **data},
        dedup_key=f"{kind}:{workflow_id}:{version}",
    )


def source_health_event(system: SourceSystem, healthy: bool, detail: str) -> DomainEvent:
    return DomainEvent(
        type="SourceHealthChanged",
        source=system,
        subject=None,
        data={"system": system.value, "healthy": healthy, "detail": detail},
        dedup_key=None,
    )


IdEncoder = Callable[[str, str], str]
