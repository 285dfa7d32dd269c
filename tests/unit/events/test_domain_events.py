"""Which source changes are business events, and how one change stays one event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gateway.events.domain import DomainEvent, events_for_change
from sources.records import (
    Account,
    Invoice,
    Milestone,
    Opportunity,
    Project,
    Record,
    SourceSystem,
    TimeEntry,
    TimePosting,
)

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def opportunity(stage: str) -> Opportunity:
    return Opportunity(id="006A", account_id="001A", name="Deal", stage=stage, modified_at=AT)


def project(status: str) -> Project:
    return Project(id="1000001", code="PRJ-1", name="P", status=status, modified_at=AT)


def time_entry(status: str) -> TimeEntry:
    return TimeEntry(
        id="900000001",
        user_id="1",
        project_id="2",
        project_code="PRJ-1",
        date=date(2026, 11, 2),
        hours=4,
        billable=True,
        status=status,
        modified_at=AT,
    )


def invoice(status: str) -> Invoice:
    return Invoice(id="600001", customer_id="101", status=status, amount=Decimal(1000))


def milestone(status: str) -> Milestone:
    return Milestone(id="5000001", project_id="1000001", name="Go-live", status=status)


@pytest.mark.parametrize(
    ("record", "previous", "seen", "expected"),
    [
        pytest.param(
            opportunity("CLOSED_WON"), "NEGOTIATION", True, ["OpportunityClosedWon"], id="deal-won"
        ),
        pytest.param(opportunity("NEGOTIATION"), "PROPOSAL", True, [], id="deal-progressed"),
        pytest.param(project("ACTIVE"), None, False, ["ProjectCreated"], id="project-new"),
        pytest.param(
            project("ON_HOLD"), "ACTIVE", True, ["ProjectStatusChanged"], id="project-paused"
        ),
        pytest.param(project("ACTIVE"), "ACTIVE", True, [], id="project-renamed"),
        pytest.param(
            time_entry("SUBMITTED"), "DRAFT", True, ["TimeSubmitted"], id="time-submitted"
        ),
        pytest.param(
            time_entry("APPROVED"), "SUBMITTED", True, ["TimeApproved"], id="time-approved"
        ),
        pytest.param(time_entry("APPROVED"), "APPROVED", True, [], id="time-approved-again"),
        pytest.param(invoice("POSTED"), "DRAFT", True, ["InvoicePosted"], id="invoice-posted"),
        pytest.param(invoice("PAID"), "POSTED", True, ["InvoicePaid"], id="invoice-paid"),
        pytest.param(
            milestone("COMPLETED"), "OPEN", True, ["MilestoneCompleted"], id="milestone-done"
        ),
        pytest.param(Account(id="001A", name="Acme"), None, True, [], id="account-edit"),
    ],
)
def test_a_change_becomes_the_events_it_implies(
    record: Record, previous: str | None, seen: bool, expected: list[str]
) -> None:
    events = events_for_change(SourceSystem.PSA, record, previous, seen_before=seen)
    assert [e.type for e in events] == expected


def test_the_same_change_seen_twice_has_one_dedup_key() -> None:
    by_poll = events_for_change(
        SourceSystem.TIME, time_entry("APPROVED"), "SUBMITTED", seen_before=True
    )
    by_push = events_for_change(SourceSystem.TIME, time_entry("APPROVED"), None, seen_before=False)
    assert by_poll[0].dedup_key == by_push[0].dedup_key


def test_time_posted_to_the_erp_is_about_the_time_entry() -> None:
    posting = TimePosting(
        id="77",
        time_entry_id="900000001",
        job_id="20001",
        customer_id="101",
        hours=4,
        amount=Decimal(600),
        work_date=date(2026, 11, 2),
    )
    (event,) = events_for_change(SourceSystem.ERP, posting, None, seen_before=False)
    assert event.type == "TimePostedToErp"
    assert event.subject is not None
    assert (event.subject.type, event.subject.key) == ("TimeEntry", "900000001")


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown domain event type"):
        DomainEvent(type="Whatever", source=None, subject=None, data={}, dedup_key=None)
