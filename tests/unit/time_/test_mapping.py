"""Harvest JSON to canonical records; canonical filters and statuses to Harvest parameters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from sources.errors import SourceDataError
from sources.records import Expense, TimeEntry, TimeProject, TimeUser
from sources.time.mapping import (
    canonical_status,
    list_params,
    status_params,
    to_record,
)

UTC = dt.UTC


def harvest_time_entry(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 636709355,
        "spent_date": "2026-03-02",
        "hours": 2.11,
        "notes": "Workshop prep",
        "is_locked": True,
        "is_billed": False,
        "billable": True,
        "approval_status": "approved",
        "approved_at": "2026-03-04T09:00:00Z",
        "user": {"id": 1782959, "name": "Kim Allen"},
        "client": {"id": 5735774, "name": "ABC Corp", "currency": "USD"},
        "project": {"id": 14307913, "name": "Marketing Website", "code": "PRJ-00042"},
        "invoice": None,
        "external_reference": {"id": "wf-7", "group_id": "psgraph", "permalink": None},
        "created_at": "2026-03-02T15:50:15Z",
        "updated_at": "2026-03-04T09:00:00.123Z",
    }
    return {**body, **overrides}


# --- status ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approval_status", "is_billed", "status"),
    [
        pytest.param("unsubmitted", False, "DRAFT", id="unsubmitted"),
        pytest.param("submitted", False, "SUBMITTED", id="submitted"),
        pytest.param("approved", False, "APPROVED", id="approved"),
        pytest.param("rejected", False, "REJECTED", id="rejected"),
        pytest.param("approved", True, "INVOICED", id="approved-and-billed"),
        pytest.param("unsubmitted", True, "INVOICED", id="billed-without-approval"),
    ],
)
def test_approval_and_billing_fold_into_one_canonical_status(
    approval_status: str, is_billed: bool, status: str
) -> None:
    assert canonical_status(approval_status, is_billed) == status


def test_an_unknown_approval_status_is_an_error() -> None:
    with pytest.raises(ValueError, match="pending"):
        canonical_status("pending", False)


@pytest.mark.parametrize(
    ("status", "params"),
    [
        pytest.param("DRAFT", {"approval_status": "unsubmitted", "is_billed": "false"}, id="draft"),
        pytest.param(
            "SUBMITTED", {"approval_status": "submitted", "is_billed": "false"}, id="submitted"
        ),
        pytest.param(
            "APPROVED", {"approval_status": "approved", "is_billed": "false"}, id="approved"
        ),
        pytest.param(
            "REJECTED", {"approval_status": "rejected", "is_billed": "false"}, id="rejected"
        ),
        pytest.param("INVOICED", {"is_billed": "true"}, id="invoiced"),
    ],
)
def test_each_canonical_status_selects_exactly_its_records(
    status: str, params: dict[str, str]
) -> None:
    assert status_params(status) == params


# --- filters -----------------------------------------------------------------------


def test_filters_become_harvest_query_parameters() -> None:
    params = list_params(
        "time_entry",
        {
            "project_id": 14000001,
            "user_id": "4000001",
            "from": dt.date(2026, 1, 1),
            "to": dt.date(2026, 1, 31),
            "status": "APPROVED",
            "updated_since": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "external_reference_id": "wf-1",
        },
    )

    assert params == {
        "project_id": "14000001",
        "user_id": "4000001",
        "from": "2026-01-01",
        "to": "2026-01-31",
        "approval_status": "approved",
        "is_billed": "false",
        "updated_since": "2026-01-02T03:04:05Z",
        "external_reference_id": "wf-1",
    }


def test_a_status_and_a_matching_billing_filter_agree() -> None:
    assert list_params("expense", {"status": "INVOICED", "is_billed": True}) == {
        "is_billed": "true"
    }


@pytest.mark.parametrize(
    ("entity", "filters", "complaint"),
    [
        pytest.param("time_entry", {"task_id": "1"}, "cannot be filtered", id="unknown-filter"),
        pytest.param(
            "expense", {"external_reference_id": "x"}, "cannot be filtered", id="not-on-expenses"
        ),
        pytest.param("time_entry", {"is_billed": "yes"}, "bool", id="billed-not-bool"),
        pytest.param(
            "time_entry", {"from": dt.datetime(2026, 1, 1, tzinfo=UTC)}, "date", id="from-datetime"
        ),
        pytest.param(
            "time_entry",
            {"updated_since": dt.datetime(2026, 1, 1)},
            "timezone-aware",
            id="naive-updated-since",
        ),
        pytest.param("time_entry", {"status": "PAID"}, "status must be", id="unknown-status"),
        pytest.param(
            "time_entry",
            {"status": "APPROVED", "is_billed": True},
            "disagree",
            id="status-contradicts-billing",
        ),
        pytest.param("user", {"project_id": "1"}, "cannot be filtered", id="user-by-project"),
    ],
)
def test_bad_filters_are_refused_before_any_request(
    entity: str, filters: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        list_params(entity, filters)


# --- records -----------------------------------------------------------------------


def test_a_time_entry_maps_to_the_canonical_record() -> None:
    entry = to_record("time_entry", harvest_time_entry())

    assert entry == TimeEntry(
        id="636709355",
        modified_at=dt.datetime(2026, 3, 4, 9, 0, 0, 123000, tzinfo=UTC),
        user_id="1782959",
        project_id="14307913",
        project_code="PRJ-00042",
        date=dt.date(2026, 3, 2),
        hours=2.11,
        billable=True,
        status="APPROVED",
        notes="Workshop prep",
        approved_at=dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        is_billed=False,
        external_reference="wf-7",
    )


def test_a_time_entry_without_extensions_still_maps() -> None:
    body = harvest_time_entry(external_reference=None, is_billed=True)
    del body["approved_at"]

    entry = to_record("time_entry", body)

    assert isinstance(entry, TimeEntry)
    assert (entry.status, entry.approved_at, entry.external_reference) == ("INVOICED", None, None)


def test_an_expense_takes_the_clients_currency_unless_it_names_its_own() -> None:
    body = {
        "id": 15296442,
        "spent_date": "2026-03-03",
        "total_cost": 13.59,
        "billable": True,
        "is_billed": False,
        "approval_status": "submitted",
        "user": {"id": 1782959, "name": "Kim Allen"},
        "client": {"id": 5735776, "name": "123 Industries", "currency": "EUR"},
        "project": {"id": 14308069, "name": "Online Store", "code": "PRJ-00007"},
        "expense_category": {"id": 4195926, "name": "Meals"},
        "updated_at": "2026-03-03T10:00:00Z",
    }

    expense = to_record("expense", body)
    own = to_record("expense", {**body, "currency": "GBP"})

    assert isinstance(expense, Expense)
    assert isinstance(own, Expense)
    assert (expense.amount, expense.currency, expense.status, expense.category) == (
        Decimal("13.59"),
        "EUR",
        "SUBMITTED",
        "Meals",
    )
    assert own.currency == "GBP"


def test_users_and_projects_map_to_reference_records() -> None:
    user = to_record(
        "user",
        {
            "id": 4000001,
            "first_name": "Ines",
            "last_name": "Hughes",
            "email": "ines@firm.example",
            "updated_at": "2026-01-01T00:00:00Z",
        },
    )
    project = to_record(
        "project",
        {
            "id": 14000001,
            "name": "Data Centre Exit",
            "code": "PRJ-00001",
            "is_active": False,
            "client": {"id": 7000001, "name": "Summit Retail", "currency": "USD"},
            "updated_at": "2026-01-01T00:00:00Z",
        },
    )

    assert user == TimeUser(
        id="4000001",
        modified_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
        name="Ines Hughes",
        email="ines@firm.example",
    )
    assert project == TimeProject(
        id="14000001",
        modified_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
        code="PRJ-00001",
        name="Data Centre Exit",
        client_name="Summit Retail",
        is_active=False,
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not an object", id="not-an-object"),
        pytest.param(harvest_time_entry(updated_at=None), id="no-updated-at"),
        pytest.param(harvest_time_entry(spent_date="03/02/2026"), id="bad-date"),
        pytest.param(harvest_time_entry(approval_status="pending"), id="unknown-approval"),
        pytest.param(harvest_time_entry(hours="lots"), id="hours-not-a-number"),
        pytest.param(harvest_time_entry(user=None), id="no-user"),
    ],
)
def test_a_malformed_object_is_a_data_error(body: Any) -> None:
    with pytest.raises(SourceDataError, match="malformed time_entry"):
        to_record("time_entry", body)
