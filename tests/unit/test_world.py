"""The world generator: deterministic, sized by scale, and every native id well formed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sandboxes.world.generate import MAX_SCALE, MIN_SCALE, generate
from sandboxes.world.model import World
from sources.crm.ids import is_valid

TODAY = date(2026, 3, 16)
NOW = datetime(2026, 3, 16, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(seed=42, scale=1.0, today=TODAY)


@pytest.fixture(scope="module")
def small_world() -> World:
    return generate(seed=42, scale=0.1, today=TODAY)


def tuples(world: World) -> Iterator[tuple[str, tuple[object, ...]]]:
    for f in fields(world):
        value = getattr(world, f.name)
        if isinstance(value, tuple) and value and hasattr(value[0], "key"):
            yield f.name, value


# --- determinism -----------------------------------------------------------------------


def test_the_same_seed_gives_the_same_world() -> None:
    assert generate(seed=7, scale=0.1, today=TODAY) == generate(seed=7, scale=0.1, today=TODAY)


def test_the_same_seed_gives_the_same_world_in_any_process() -> None:
    # Set and dict order of strings changes with the interpreter's hash seed; the world must not.
    script = (
        "import hashlib, sys; from datetime import date; "
        "from sandboxes.world.generate import generate; "
        "w = generate(seed=7, scale=0.05, today=date(2026, 3, 16)); "
        "sys.stdout.write(hashlib.sha256(repr(w).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parents[2],
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_another_seed_gives_another_world() -> None:
    first, second = generate(7, 0.1, TODAY), generate(8, 0.1, TODAY)
    assert first.clients != second.clients
    assert first.time_entries != second.time_entries


def test_the_world_is_as_of_today_unless_told() -> None:
    before = date.today()
    world = generate(seed=1, scale=MIN_SCALE)
    assert before <= world.today <= date.today()
    assert generate(seed=1, scale=MIN_SCALE, today=TODAY).today == TODAY


@pytest.mark.parametrize(
    "scale",
    [
        pytest.param(0.0, id="zero"),
        pytest.param(-1.0, id="negative"),
        pytest.param(MIN_SCALE / 2, id="below-minimum"),
        pytest.param(MAX_SCALE * 2, id="above-maximum"),
    ],
)
def test_a_scale_out_of_range_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(seed=1, scale=scale, today=TODAY)


# --- size --------------------------------------------------------------------------------

TARGETS_AT_SCALE_1 = [
    pytest.param("clients", 300, id="clients"),
    pytest.param("opportunities", 1_200, id="opportunities"),
    pytest.param("projects", 800, id="projects"),
    pytest.param("people", 600, id="people"),
    pytest.param("time_entries", 150_000, id="time-entries"),
    pytest.param("invoices", 6_000, id="invoices"),
]


@pytest.mark.parametrize(("entity", "target"), TARGETS_AT_SCALE_1)
def test_scale_1_has_the_target_counts_within_15_percent(
    world: World, entity: str, target: int
) -> None:
    assert abs(len(getattr(world, entity)) - target) <= 0.15 * target


@pytest.mark.parametrize(("entity", "target"), TARGETS_AT_SCALE_1)
def test_scale_scales_every_count(small_world: World, entity: str, target: int) -> None:
    assert abs(len(getattr(small_world, entity)) - target * 0.1) <= 0.2 * target * 0.1


def test_the_pipeline_is_800_won_150_lost_and_the_rest_open(world: World) -> None:
    stages = Counter(o.stage for o in world.opportunities)
    assert stages.pop("CLOSED_WON") == 800
    assert stages.pop("CLOSED_LOST") == 150
    assert set(stages) == {"PROSPECTING", "QUALIFICATION", "PROPOSAL", "NEGOTIATION"}


def test_projects_have_two_to_six_milestones(world: World) -> None:
    per_project = Counter(m.project_key for m in world.milestones)
    assert set(per_project) == {p.key for p in world.projects}
    assert set(per_project.values()) == {2, 3, 4, 5, 6}


def test_every_client_has_contacts_and_an_opportunity(world: World) -> None:
    assert {c.client_key for c in world.contacts} == {c.key for c in world.clients}
    assert {o.client_key for o in world.opportunities} == {c.key for c in world.clients}


@pytest.mark.parametrize("scale", [pytest.param(MIN_SCALE, id="minimum"), pytest.param(0.03)])
def test_a_tiny_world_still_has_everything(scale: float) -> None:
    world = generate(seed=3, scale=scale, today=TODAY)
    for name, records in tuples(world):
        assert records, name


# --- keys and ids --------------------------------------------------------------------------


def test_every_key_is_its_position(world: World) -> None:
    for name, records in tuples(world):
        assert [r.key for r in records] == list(range(len(records))), name  # type: ignore[attr-defined]


def native_ids(world: World) -> dict[str, list[str]]:
    """Every native id each system holds, whatever the record type."""
    return {
        "CRM": [c.crm_id for c in world.clients]
        + [c.crm_id for c in world.contacts]
        + [o.crm_id for o in world.opportunities],
        "PSA": [p.psa_id for p in world.projects]
        + [m.psa_id for m in world.milestones]
        + [a.psa_id for a in world.assignments]
        + [r.psa_id for r in world.staffing_requests]
        + [p.psa_user_id for p in world.people],
        "HCM": [p.hcm_id for p in world.people],
        "ERP": list(world.subsidiary_ids)
        + [c.erp_id for c in world.clients]
        + [c.duplicate_erp_id for c in world.clients if c.duplicate_erp_id]
        + [p.erp_job_id for p in world.projects if p.erp_job_id]
        + [s.erp_id for s in world.billing_schedules]
        + [i.erp_id for i in world.invoices]
        + [p.erp_id for p in world.payments]
        + [t.erp_posting_id for t in world.time_entries if t.erp_posting_id],
        "TIME": [p.time_user_id for p in world.people]
        + [p.time_project_id for p in world.projects]
        + [t.time_id for t in world.time_entries]
        + [e.time_id for e in world.expenses],
    }


@pytest.mark.parametrize("system", ["CRM", "PSA", "HCM", "ERP", "TIME"])
def test_ids_are_unique_within_each_system(world: World, system: str) -> None:
    found = native_ids(world)[system]
    assert len(found) == len(set(found))


@pytest.mark.parametrize("system", ["PSA", "ERP", "TIME"])
def test_numeric_systems_use_numeric_ids(world: World, system: str) -> None:
    assert all(i.isdigit() and not i.startswith("0") for i in native_ids(world)[system])


def test_hcm_ids_are_workday_wids(world: World) -> None:
    assert all(re.fullmatch(r"[0-9a-f]{32}", p.hcm_id) for p in world.people)


@pytest.mark.parametrize(
    ("entity", "prefix"),
    [
        pytest.param("clients", "001", id="accounts"),
        pytest.param("contacts", "003", id="contacts"),
        pytest.param("opportunities", "006", id="opportunities"),
    ],
)
def test_crm_ids_are_salesforce_ids(world: World, entity: str, prefix: str) -> None:
    for record in getattr(world, entity):
        assert len(record.crm_id) == 18
        assert record.crm_id.startswith(prefix)
        assert is_valid(record.crm_id)


def test_project_codes_and_invoice_numbers_are_unique_and_formatted(world: World) -> None:
    codes = [p.code for p in world.projects]
    numbers = [i.number for i in world.invoices]
    assert len(set(codes)) == len(codes)
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"PRJ-\d{5}", code) for code in codes)
    assert all(re.fullmatch(rf"INV-{i.issue_date.year}-\d{{6}}", i.number) for i in world.invoices)


def test_contact_emails_are_unique_and_at_their_clients_domain(world: World) -> None:
    emails = [c.email for c in world.contacts]
    assert len(set(emails)) == len(emails)
    domains_per_client = {c.client_key: c.email.split("@")[1] for c in world.contacts}
    assert len(set(domains_per_client.values())) == len(world.clients)


def test_work_emails_are_unique_and_at_the_firm(world: World) -> None:
    emails = [p.email for p in world.people]
    assert len(set(emails)) == len(emails)
    for person in world.people:
        first, last = person.name.lower().split()
        assert re.fullmatch(rf"{first}\.{last}\d*@northbeam\.example", person.email)


# --- time ----------------------------------------------------------------------------------


def recorded_moments(world: World) -> Iterator[datetime]:
    for _name, records in tuples(world):
        for record in records:
            for attr in ("modified_at", "approved_at", "paid_at", "completed_at"):
                moment = getattr(record, attr, None)
                if moment is not None:
                    yield moment


def test_every_change_is_a_utc_moment_before_today(world: World) -> None:
    for moment in recorded_moments(world):
        assert moment.utcoffset() == timedelta(0)
        assert moment < NOW


def test_time_entries_cover_the_last_year_on_weekdays(world: World) -> None:
    dates = {t.date for t in world.time_entries}
    assert min(dates) >= TODAY - timedelta(days=365)
    assert max(dates) == TODAY - timedelta(days=3)  # the Friday before a Monday today
    assert all(d.weekday() < 5 for d in dates)


def test_time_entries_are_half_an_hour_to_ten_hours_and_mostly_billable(world: World) -> None:
    assert all(0.5 <= t.hours <= 10 for t in world.time_entries)
    billable = sum(t.billable for t in world.time_entries)
    assert 0.8 <= billable / len(world.time_entries) <= 0.95


def test_time_status_follows_age(world: World) -> None:
    for entry in world.time_entries:
        age = (TODAY - entry.date).days
        if age > 14:
            assert entry.status in {"APPROVED", "INVOICED", "REJECTED"}
        if age < 8:
            assert entry.status in {"DRAFT", "SUBMITTED"}
    statuses = Counter(t.status for t in world.time_entries)
    assert statuses["INVOICED"] + statuses["APPROVED"] > 0.9 * len(world.time_entries)
    assert 0 < statuses["REJECTED"] < 0.02 * len(world.time_entries)


def test_every_invoice_status_occurs(world: World) -> None:
    assert {i.status for i in world.invoices} == {"DRAFT", "POSTED", "PAID", "VOID", "BLOCKED"}


# --- money and people -------------------------------------------------------------------


def test_people_bill_more_than_they_cost(world: World) -> None:
    assert all(p.bill_rate > p.cost_rate > 0 for p in world.people)


def test_money_is_mostly_usd(world: World) -> None:
    currencies = Counter(c.currency for c in world.clients)
    assert set(currencies) == set(world.currencies) == {"USD", "EUR", "GBP"}
    assert currencies["USD"] > 0.6 * len(world.clients)


def test_clients_carry_terms_and_credit_status(world: World) -> None:
    assert {c.payment_terms for c in world.clients} == {"Net 15", "Net 30", "Net 45", "Net 60"}
    assert {c.credit_status for c in world.clients} == {"GOOD", "WATCH", "HOLD"}
    assert {c.region for c in world.clients} == {"North America", "EMEA", "APAC", "LATAM"}


def test_contract_types_are_the_three_kinds(world: World) -> None:
    kinds = {"FIXED_FEE", "TIME_AND_MATERIALS", "MILESTONE"}
    assert {p.contract_type for p in world.projects} == kinds
    assert {s.kind for s in world.billing_schedules} == kinds
