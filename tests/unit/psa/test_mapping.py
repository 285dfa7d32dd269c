"""Kantata records become canonical records, and canonical fields become Kantata bodies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sources.psa import mapping

WEB = "https://app.mavenlink.com"

WORKSPACE = {
    "id": "1000001",
    "title": "Beacon - Pricing Review",
    "status": {"color": "green", "key": 310, "message": "Active"},
    "archived": False,
    "start_date": "2024-11-10",
    "due_date": "2025-06-30",
    "price_in_cents": 60300050,
    "currency": "EUR",
    "primary_maintainer_id": "3000179",
    "crm_opportunity_id": "006000000000001AAA",
    "crm_account_id": "001000000000001AAA",
    "erp_job_id": None,
    "project_code": "PRJ-00001",
    "practice": "Strategy",
    "region": "EMEA",
    "updated_at": "2025-01-30T09:42:00.000Z",
}


def test_a_workspace_is_a_project_with_its_references_and_budget_in_units():
    project = mapping.project_from(WORKSPACE, web_base=WEB)

    assert project.id == "1000001"
    assert project.name == "Beacon - Pricing Review"
    assert project.code == "PRJ-00001"
    assert project.status == "ACTIVE"
    assert project.budget == Decimal("603000.50")
    assert project.currency == "EUR"
    assert project.crm_opportunity_id == "006000000000001AAA"
    assert project.crm_account_id == "001000000000001AAA"
    assert project.erp_job_id is None
    assert project.manager_user_id == "3000179"
    assert project.start_date == dt.date(2024, 11, 10)
    assert project.end_date == dt.date(2025, 6, 30)
    assert project.modified_at == dt.datetime(2025, 1, 30, 9, 42, tzinfo=dt.UTC)
    assert project.url == "https://app.mavenlink.com/workspaces/1000001"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param({"key": 300, "message": "Not Started"}, "PLANNED", id="key-300"),
        pytest.param({"key": 310, "message": "renamed"}, "ACTIVE", id="key-wins-over-message"),
        pytest.param({"key": 320, "message": "On Hold"}, "ON_HOLD", id="key-320"),
        pytest.param({"key": 350, "message": "Completed"}, "COMPLETED", id="key-350"),
        pytest.param({"key": 360, "message": "Cancelled"}, "CANCELLED", id="key-360"),
        pytest.param({"key": "310", "message": "x"}, "ACTIVE", id="key-as-text"),
        pytest.param({"key": 999, "message": "Not Started"}, "PLANNED", id="not-started-words"),
        pytest.param({"key": 999, "message": "Started"}, "ACTIVE", id="started-words"),
        pytest.param({"key": 999, "message": "In Planning"}, "PLANNED", id="planning-words"),
        pytest.param({"key": 999, "message": "At Risk"}, "ACTIVE", id="at-risk-words"),
        pytest.param({"key": 999, "message": "Closed"}, "COMPLETED", id="closed-words"),
        pytest.param("Cancelled", "CANCELLED", id="bare-message"),
    ],
)
def test_workspace_statuses_map_to_canonical_ones(status, expected):
    assert mapping.project_status(status) == expected


@pytest.mark.parametrize(
    "status",
    [
        pytest.param({"key": 999, "message": "Mystery"}, id="unknown-words"),
        pytest.param({"key": 999}, id="no-message"),
        pytest.param(None, id="null"),
        pytest.param(42, id="number"),
    ],
)
def test_an_unknown_workspace_status_is_refused(status):
    with pytest.raises(ValueError, match="status"):
        mapping.project_status(status)


def test_a_workspace_without_optional_fields_still_maps():
    project = mapping.project_from(
        {"id": 7, "title": "Bare", "status": {"key": 300, "message": "Not Started"}},
        web_base="http://127.0.0.1:8102",
    )
    assert project.id == "7"
    assert project.code == ""
    assert project.budget is None
    assert project.currency == "USD"
    assert project.url == "http://127.0.0.1:8102/workspaces/7"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param({"id": "1", "status": {"key": 310}}, KeyError, id="no-title"),
        pytest.param({"id": "1", "title": "x"}, KeyError, id="no-status"),
        pytest.param({**WORKSPACE, "price_in_cents": 12.5}, TypeError, id="fractional-cents"),
        pytest.param({**WORKSPACE, "start_date": "soon"}, ValueError, id="bad-date"),
    ],
)
def test_an_unreadable_workspace_raises(raw, error):
    with pytest.raises(error):
        mapping.project_from(raw, web_base=WEB)


STORY = {
    "id": "5000001",
    "title": "Current-state assessment",
    "workspace_id": "1000001",
    "story_type": "milestone",
    "due_date": "2025-01-07",
    "state": "completed",
    "billed": True,
    "budget_estimate_in_cents": 15599292,
    "completed_at": "2025-01-04T15:47:00.000Z",
    "updated_at": "2025-01-04T15:47:00.000Z",
}


def test_a_milestone_story_is_a_milestone_in_its_workspace_currency():
    milestone = mapping.milestone_from(STORY, workspace={"currency": "GBP"}, web_base=WEB)

    assert milestone is not None
    assert milestone.project_id == "1000001"
    assert milestone.status == "BILLED"
    assert milestone.amount == Decimal("155992.92")
    assert milestone.currency == "GBP"
    assert milestone.completed_at == dt.datetime(2025, 1, 4, 15, 47, tzinfo=dt.UTC)
    assert milestone.url == "https://app.mavenlink.com/workspaces/1000001/#tracker/5000001"


def test_a_story_that_is_not_a_milestone_maps_to_nothing():
    task = {**STORY, "story_type": "task"}
    assert mapping.milestone_from(task, workspace=None, web_base=WEB) is None


@pytest.mark.parametrize(
    ("state", "billed", "expected"),
    [
        pytest.param("not started", False, "OPEN", id="not-started"),
        pytest.param("started", False, "OPEN", id="started"),
        pytest.param("needs feedback", False, "OPEN", id="needs-feedback"),
        pytest.param("rejected", False, "OPEN", id="rejected-reopens"),
        pytest.param("completed", False, "COMPLETED", id="completed"),
        pytest.param("completed", True, "BILLED", id="completed-and-billed"),
    ],
)
def test_story_states_map_to_milestone_statuses(state, billed, expected):
    assert mapping.milestone_status(state, billed) == expected


def test_an_unknown_story_state_is_refused():
    with pytest.raises(ValueError, match="story state"):
        mapping.milestone_status("archived", False)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("open", "OPEN", id="open"),
        pytest.param("in_progress", "OPEN", id="in-progress"),
        pytest.param("Filled", "FILLED", id="filled-any-case"),
        pytest.param("canceled", "CANCELLED", id="canceled-us"),
        pytest.param("cancelled", "CANCELLED", id="cancelled-uk"),
    ],
)
def test_resource_request_statuses_map_to_staffing_statuses(status, expected):
    assert mapping.request_status(status) == expected


def test_a_resource_request_is_a_staffing_request():
    request = mapping.staffing_request_from(
        {
            "id": 8000001,
            "workspace_id": 1000003,
            "role": "BI Developer",
            "skills": ["Power BI"],
            "hours_per_week": 32.0,
            "start_date": "2024-11-12",
            "status": "filled",
            "assigned_user_id": 3000417,
        }
    )
    assert request.id == "8000001"
    assert request.project_id == "1000003"
    assert request.skills == ["Power BI"]
    assert request.status == "FILLED"
    assert request.assigned_user_id == "3000417"


def test_a_participation_is_an_assignment_and_a_user_carries_the_hcm_id():
    assignment = mapping.assignment_from(
        {"id": "7000001", "workspace_id": "1000001", "user_id": "3000179", "role": "PM"}
    )
    user = mapping.user_from(
        {"id": "3000179", "full_name": "Ada", "email_address": "a@x", "employee_number": "W1"}
    )
    assert (assignment.project_id, assignment.user_id, assignment.role) == (
        "1000001",
        "3000179",
        "PM",
    )
    assert (user.name, user.email, user.employee_number) == ("Ada", "a@x", "W1")


def test_canonical_project_fields_become_workspace_attributes():
    body = mapping.workspace_attributes(
        {
            "name": "New work",
            "code": "PRJ-09999",
            "status": "ACTIVE",
            "budget": Decimal("1234.565"),
            "start_date": dt.date(2025, 3, 1),
            "end_date": dt.date(2025, 9, 30),
            "manager_user_id": "3000001",
            "erp_job_id": None,
        }
    )
    assert body == {
        "title": "New work",
        "project_code": "PRJ-09999",
        "status_key": 310,
        "price_in_cents": 123457,
        "start_date": "2025-03-01",
        "due_date": "2025-09-30",
        "primary_maintainer_id": "3000001",
        "erp_job_id": None,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"title": "x"}, "not writable", id="vendor-name-not-canonical"),
        pytest.param({"status": "DONE"}, "unknown project status", id="bad-status"),
    ],
)
def test_bad_workspace_fields_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        mapping.workspace_attributes(fields)


def test_filter_values_translate_to_vendor_values():
    assert mapping.status_keys(["ACTIVE", "ON_HOLD"]) == ["310", "320"]
    assert mapping.request_statuses(["OPEN"]) == ["open", "in_progress"]
