"""Workday workers become `Worker` records; anything else is a SourceDataError."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandboxes.hcm.seed import worker_json
from sources.errors import SourceDataError
from sources.hcm.mapping import digest, worker_from_workday
from sources.records import Worker
from tests.unit.hcm.conftest import make_person


def served(key: int = 3) -> dict[str, Any]:
    """A worker exactly as the sandbox serves it."""
    return worker_json(make_person(key), manager=make_person(0), is_manager=False)


def test_a_served_worker_maps_to_every_field_of_the_record() -> None:
    person = make_person(3)

    worker = worker_from_workday(served(3), link=lambda wid: f"https://wd.example/w/{wid}")

    assert worker == Worker(
        id=person.hcm_id,
        name=person.name,
        email=person.email,
        title=person.title,
        practice=person.practice,
        location=person.location,
        cost_center=person.cost_center,
        skills=list(person.skills),
        cost_rate=person.cost_rate,
        bill_rate=person.bill_rate,
        currency="USD",
        manager_id=make_person(0).hcm_id,
        weekly_capacity_hours=person.weekly_capacity_hours,
        modified_at=datetime(2026, 1, 1, 3, tzinfo=UTC),
        url=f"https://wd.example/w/{person.hcm_id}",
    )


def test_rates_are_exact_decimals_even_from_json_numbers() -> None:
    raw = served()
    raw["compensation"] = {
        "costRate": {"amount": 80.1, "currency": "EUR"},
        "billRate": {"amount": "199.99", "currency": "EUR"},
    }

    worker = worker_from_workday(raw)

    assert worker.cost_rate == Decimal("80.1")
    assert worker.bill_rate == Decimal("199.99")
    assert worker.currency == "EUR"


def test_a_minimal_worker_takes_the_record_defaults() -> None:
    worker = worker_from_workday({"id": "w1", "descriptor": "Ann Smith"})

    assert worker == Worker(id="w1", name="Ann Smith")
    assert worker.weekly_capacity_hours == 40.0
    assert worker.manager_id is None


def _broken(**changes: Any) -> dict[str, Any]:
    raw = served()
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("<html>proxy error", id="not-an-object"),
        pytest.param({"descriptor": "No Id"}, id="no-id"),
        pytest.param({"id": 42, "descriptor": "Numeric Id"}, id="id-not-a-string"),
        pytest.param({"id": "w1"}, id="no-name"),
        pytest.param(_broken(location="London"), id="reference-not-an-object"),
        pytest.param(_broken(skills="Python"), id="skills-not-a-list"),
        pytest.param(_broken(compensation=[]), id="compensation-not-an-object"),
        pytest.param(
            _broken(compensation={"costRate": {"amount": "lots", "currency": "USD"}}),
            id="amount-not-a-number",
        ),
        pytest.param(_broken(lastUpdated="yesterday"), id="bad-timestamp"),
        pytest.param(_broken(scheduledWeeklyHours="full time"), id="bad-hours"),
    ],
)
def test_malformed_workers_are_data_errors(raw: Any) -> None:
    with pytest.raises(SourceDataError) as caught:
        worker_from_workday(raw)
    assert caught.value.system.value == "HCM"


def test_the_digest_is_stable_and_ignores_the_deep_link() -> None:
    one = worker_from_workday(served(), link=lambda wid: f"https://a.example/{wid}")
    two = worker_from_workday(copy.deepcopy(served()), link=lambda wid: f"https://b/{wid}")

    assert digest(one) == digest(two)
    assert len(digest(one)) == 12


@pytest.mark.parametrize(
    "field",
    [
        pytest.param({"businessTitle": "Senior Consultant"}, id="title"),
        pytest.param({"lastUpdated": "2026-05-01T10:00:00.001Z"}, id="last-updated"),
        pytest.param({"skills": []}, id="skills"),
    ],
)
def test_the_digest_changes_with_the_content(field: dict[str, Any]) -> None:
    before = worker_from_workday(served())
    after = worker_from_workday({**served(), **field})

    assert digest(before) != digest(after)
