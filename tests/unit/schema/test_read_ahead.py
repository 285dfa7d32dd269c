"""Reads that do not depend on one another start together: a page's clients beside its
rows' other links, TIME's summaries beside the lookup of a project's code, and the reads
every project's health shares beside the page of projects itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from gateway.auth.principal import Principal
from resolvers import clients as clients_resolvers
from resolvers import health
from resolvers import people as people_resolvers
from sources.connector import Page
from sources.errors import SourceUnavailable
from sources.records import Record, SourceSystem
from tests.unit.resolvers.fakes import (
    CRM,
    ERP,
    PSA,
    TIME,
    FakeConnector,
    FakeTime,
    Firm,
)
from tests.unit.schema.conftest import Run, gateway_over

WITH_MANAGERS = (
    "{ projects(first: 4) { edges { node { name client { name } manager { name } } } } }"
)
CLIENTS_ONLY = "{ projects(first: 4) { edges { node { name client { name } } } } }"


def hold_crm_until_another_source_is_asked(sources: Firm) -> None:
    """The CRM answers only once some other system has been asked something: a page
    whose other reads waited for its clients would never finish."""
    crm = sources.connectors[CRM]
    others = [c for system, c in sources.connectors.items() if system is not CRM]
    asked = asyncio.Event()
    for connector in others:
        connector.get_many = _noting(connector, asked)  # type: ignore[method-assign]
    answer = crm.get_many

    async def held(entity: str, wanted: Sequence[str]) -> list[Record | None]:
        await asked.wait()
        return await answer(entity, wanted)

    crm.get_many = held  # type: ignore[method-assign]


def _noting(
    connector: FakeConnector, asked: asyncio.Event
) -> Callable[[str, Sequence[str]], Awaitable[list[Record | None]]]:
    answer = connector.get_many

    async def noted(entity: str, wanted: Sequence[str]) -> list[Record | None]:
        asked.set()
        return await answer(entity, wanted)

    return noted


async def test_rows_reading_other_sources_do_not_wait_for_their_clients(sources, run):
    hold_crm_until_another_source_is_asked(sources)

    async with asyncio.timeout(5):
        result = await run(WITH_MANAGERS)

    assert result.errors is None
    rows = [edge["node"] for edge in result.data["projects"]["edges"]]
    assert all(row["client"] and row["manager"] for row in rows)
    assert len([c for c in sources.log if c.system is CRM]) == 1  # still one batch


async def test_rows_reading_nothing_else_get_their_clients_in_one_read(sources, run):
    result = await run(CLIENTS_ONLY)

    assert result.errors is None
    assert all(edge["node"]["client"] for edge in result.data["projects"]["edges"])
    assert [(c.system, c.method) for c in sources.log].count((CRM, "get_many")) == 1


async def test_time_summaries_are_read_beside_the_lookup_of_the_projects_code(sources, run):
    time = sources.connectors[TIME]
    assert isinstance(time, FakeTime)
    summarised = asyncio.Event()
    summarise, listing = time.project_summaries, time.list

    async def noted(*args: object) -> object:
        summarised.set()
        return await summarise(*args)  # type: ignore[arg-type]

    async def held(entity: str, *args: object, **kwargs: object) -> object:
        if entity == "project":  # the lookup of a code waits until summaries are asked
            await summarised.wait()
        return await listing(entity, *args, **kwargs)  # type: ignore[arg-type]

    time.project_summaries = noted  # type: ignore[method-assign,assignment]
    time.list = held  # type: ignore[method-assign,assignment]

    async with asyncio.timeout(5):
        result = await run("{ projects(first: 4) { edges { node { health { hoursApproved } } } } }")

    assert result.errors is None
    approved = [e["node"]["health"]["hoursApproved"] for e in result.data["projects"]["edges"]]
    assert approved[0] == 16.0  # as test_queries derives it


def hold_listing_until_time_is_asked(sources: Firm, system: SourceSystem, entity: str) -> None:
    """`system` lists `entity` only once TIME has been asked for its summaries and its
    projects: a query whose TIME reads waited for that list would never finish."""
    time = sources.connectors[TIME]
    summarised, listed = asyncio.Event(), asyncio.Event()
    summarise, list_time = time.project_summaries, time.list  # type: ignore[attr-defined]

    async def noted_summaries(*args: object) -> object:
        summarised.set()
        return await summarise(*args)

    async def noted_list(kind: str, *args: object, **kwargs: object) -> object:
        if kind == "project":
            listed.set()
        return await list_time(kind, *args, **kwargs)

    time.project_summaries = noted_summaries  # type: ignore[attr-defined]
    time.list = noted_list  # type: ignore[method-assign,assignment]
    held_connector = sources.connectors[system]
    answer = held_connector.list

    async def held(kind: str, *args: object, **kwargs: object) -> Page[Record]:
        if kind == entity:
            await summarised.wait()
            await listed.wait()
        return await answer(kind, *args, **kwargs)  # type: ignore[arg-type]

    held_connector.list = held  # type: ignore[method-assign,assignment]


async def test_a_health_board_starts_time_reads_before_its_page_of_projects(sources, run):
    hold_listing_until_time_is_asked(sources, PSA, "project")

    async with asyncio.timeout(5):
        result = await run("{ projects(first: 4) { edges { node { health { hoursApproved } } } } }")

    assert result.errors is None
    approved = [e["node"]["health"]["hoursApproved"] for e in result.data["projects"]["edges"]]
    assert approved[0] == 16.0  # as test_queries derives it


async def test_invoices_asking_their_projects_health_start_time_reads_before_their_page(
    sources, run
):
    hold_listing_until_time_is_asked(sources, ERP, "invoice")
    query = "{ invoices(first: 4) { edges { node { project { health { hoursUnbilled } } } } } }"

    async with asyncio.timeout(5):
        result = await run(query)

    assert result.errors is None
    assert any(e["node"]["project"] for e in result.data["invoices"]["edges"])


async def test_health_figures_the_caller_may_not_read_start_no_time_reads(sources):
    portal = Run(gateway_over(sources), Principal(subject="c", roles=frozenset({"client"})))

    result = await portal("{ projects(first: 4) { edges { node { health { budgetBurn } } } } }")
    for _ in range(10):  # a read started beside the page would have run by now
        await asyncio.sleep(0)

    assert result.data["projects"] is not None
    assert not [c for c in sources.log if c.system is TIME]


BOARD_ROW = (
    "code financeCode client { name } manager { name } "
    "health { budgetBurn hoursUnbilled invoicedAmount { amount } billingReady risks }"
)
READ_AHEAD = "{ projects(first: 4) { edges { node { " + BOARD_ROW + " } } } }"
# `milestones` is not read for the page: every row then reads for itself, as before.
ROW_BY_ROW = "{ projects(first: 4) { edges { node { " + BOARD_ROW + " milestones { name } } } } }"


def failed(result: Any) -> set[tuple[str, ...]]:
    """Where a result's errors are (the fields that failed)."""
    return {tuple(str(p) for p in e.path) for e in result.errors or [] if e.path}


def without_milestones(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in edge["node"].items() if k != "milestones"}
        for edge in data["projects"]["edges"]
    ]


async def test_a_board_read_for_its_whole_page_answers_as_row_by_row(
    sources, make_run, monkeypatch
):
    awaited: list[str] = []
    facts = health.facts

    async def counted(ctx: Any, project: Any, figures: Any) -> Any:
        awaited.append(project.id)
        return await facts(ctx, project, figures)

    monkeypatch.setattr(health, "facts", counted)
    row_by_row = await make_run(sources)(ROW_BY_ROW)
    assert len(awaited) == 4  # each row waited for its own figures
    awaited.clear()

    read_ahead = await make_run(sources)(READ_AHEAD)

    assert read_ahead.errors is None
    assert row_by_row.errors is None
    assert read_ahead.data["projects"]["edges"][0]["node"]["health"]["risks"] is not None
    assert without_milestones(read_ahead.data) == without_milestones(row_by_row.data)
    assert awaited == []  # no row waited: the page's reads answered them


async def test_a_source_failing_under_a_page_read_ahead_fails_the_same_fields(sources, make_run):
    sources.connectors[ERP].failure = SourceUnavailable(SourceSystem.ERP, "down")

    read_ahead = await make_run(sources)(READ_AHEAD)
    row_by_row = await make_run(sources)(ROW_BY_ROW)

    assert failed(read_ahead)
    assert failed(read_ahead) == failed(row_by_row)
    assert without_milestones(read_ahead.data) == without_milestones(row_by_row.data)


UTILIZATION = (
    "query($from: Date!) { resources(first: 4) { edges { node {"
    ' utilization(from: $from, to: "2025-06-30") } } } }'
)


async def test_a_page_of_people_starts_its_time_reads_before_the_page_of_workers(
    sources, make_run, monkeypatch
):
    monkeypatch.setattr("resolvers.people.PER_PERSON_READS", 1)
    time, hcm = sources.connectors[TIME], sources.connectors[SourceSystem.HCM]
    asked: set[str] = set()
    list_time, list_workers = time.list, hcm.list
    team_hours = time.approved_billable_hours  # type: ignore[attr-defined]

    async def noted(entity: str, *args: object, **kwargs: object) -> object:
        asked.add(entity)
        return await list_time(entity, *args, **kwargs)  # type: ignore[arg-type]

    async def noted_report(*args: object) -> object:
        asked.add("team report")
        return await team_hours(*args)

    async def held(entity: str, *args: object, **kwargs: object) -> object:
        while asked != {"user", "team report"}:  # both started before the workers' page
            await asyncio.sleep(0)
        return await list_workers(entity, *args, **kwargs)  # type: ignore[arg-type]

    time.list = noted  # type: ignore[method-assign,assignment]
    time.approved_billable_hours = noted_report  # type: ignore[attr-defined]
    hcm.list = held  # type: ignore[method-assign,assignment]

    async with asyncio.timeout(5):
        result = await make_run(sources)(UTILIZATION, variables={"from": "2025-06-01"})

    assert result.errors is None
    utilization = [e["node"]["utilization"] for e in result.data["resources"]["edges"]]
    assert utilization[0] == pytest.approx(32 / 168)  # as test_queries derives it
    time_entry_reads = [c.method for c in sources.log if c.entity == "time_entry"]
    assert time_entry_reads == ["approved_billable_hours"]


INVOICE_ROW = (
    "number client { name creditStatus paymentTerms receivables { amount } }"
    " project { code financeCode health { billingReady hoursUnbilled } }"
)
INVOICES_READ_AHEAD = "{ invoices(first: 4) { edges { node { " + INVOICE_ROW + " } } } }"
# The client's `conflicts` is not read for the page: every row then reads for itself.
INVOICES_ROW_BY_ROW = (
    "{ invoices(first: 4) { edges { node { " + INVOICE_ROW + " dueDate client { conflicts "
    "{ field } } } } } }"
)


def invoice_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for edge in data["invoices"]["edges"]:
        node = dict(edge["node"])
        node.pop("dueDate", None)
        if node.get("client") is not None:
            node["client"] = {k: v for k, v in node["client"].items() if k != "conflicts"}
        rows.append(node)
    return rows


async def test_a_page_of_invoices_read_ahead_answers_as_row_by_row(sources, make_run, monkeypatch):
    awaited: list[str] = []
    terms, owed = clients_resolvers.primary_customer, clients_resolvers.receivables

    async def counted_terms(ctx: Any, view: Any) -> Any:
        awaited.append("terms")
        return await terms(ctx, view)

    async def counted_owed(ctx: Any, view: Any) -> Any:
        awaited.append("receivables")
        return await owed(ctx, view)

    monkeypatch.setattr(clients_resolvers, "primary_customer", counted_terms)
    monkeypatch.setattr(clients_resolvers, "receivables", counted_owed)
    row_by_row = await make_run(sources)(INVOICES_ROW_BY_ROW)
    assert "terms" in awaited
    awaited.clear()

    read_ahead = await make_run(sources)(INVOICES_READ_AHEAD)

    assert read_ahead.errors is None
    assert row_by_row.errors is None
    assert any(e["node"]["project"] for e in read_ahead.data["invoices"]["edges"])
    assert any(e["node"]["client"]["receivables"] for e in read_ahead.data["invoices"]["edges"])
    assert invoice_rows(read_ahead.data) == invoice_rows(row_by_row.data)
    assert awaited == []  # no row waited: the page's reads answered them


async def test_a_source_failing_under_invoices_read_ahead_fails_the_same_fields(sources, make_run):
    sources.connectors[CRM].failure = SourceUnavailable(SourceSystem.CRM, "down")

    read_ahead = await make_run(sources)(INVOICES_READ_AHEAD)
    row_by_row = await make_run(sources)(INVOICES_ROW_BY_ROW)

    assert failed(read_ahead)
    assert failed(read_ahead) <= failed(row_by_row)
    assert invoice_rows(read_ahead.data) == invoice_rows(row_by_row.data)


async def test_invoices_read_their_clients_and_projects_erp_figures_beside_accounts_and_projects(
    sources, run
):
    """The ERP customers of a client's account, the ERP jobs of a project and their
    figures are found from the invoices' own customers and jobs: they are asked for
    before the accounts and projects answer (else this page would never finish)."""
    erp = sources.connectors[ERP]
    wanted = {"list customer", "list job", "receivables", "scheduled_jobs"}
    asked: set[str] = set()
    everything_asked = asyncio.Event()
    enter = erp._enter

    async def noted(method: str, entity: str, size: int) -> None:
        asked.add(f"list {entity}" if method == "list" else method)
        if wanted <= asked:
            everything_asked.set()
        await enter(method, entity, size)

    erp._enter = noted  # type: ignore[method-assign]
    for system in (CRM, PSA):
        answer = sources.connectors[system].get_many

        async def held(entity: str, ids: Sequence[str], answer: Any = answer) -> Any:
            await everything_asked.wait()
            return await answer(entity, ids)

        sources.connectors[system].get_many = held  # type: ignore[method-assign]

    result = await asyncio.wait_for(run(INVOICES_READ_AHEAD), timeout=5)

    assert result.errors is None
    assert any(e["node"]["client"]["receivables"] for e in result.data["invoices"]["edges"])
    assert any(e["node"]["project"]["financeCode"] for e in result.data["invoices"]["edges"])


PEOPLE_ROW = 'name title manager { name } utilization(from: "2025-06-01", to: "2025-06-30")'
PEOPLE_READ_AHEAD = "{ resources(first: 4) { edges { node { " + PEOPLE_ROW + " } } } }"
# `assignments` is not read for the page: every row then reads for itself, as before.
PEOPLE_ROW_BY_ROW = (
    "{ resources(first: 4) { edges { node { " + PEOPLE_ROW + " assignments { id } } } } }"
)


def people_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in edge["node"].items() if k != "assignments"}
        for edge in data["resources"]["edges"]
    ]


@pytest.mark.parametrize(
    ("per_person_reads", "report_approves"),
    [(8, True), (1, True), (1, False)],
    ids=["per-person", "team-report", "scans"],
)
async def test_a_page_of_people_read_ahead_answers_as_row_by_row(
    sources, make_run, monkeypatch, per_person_reads, report_approves
):
    monkeypatch.setattr("resolvers.people.PER_PERSON_READS", per_person_reads)
    sources.connectors[TIME].team_report_approves = report_approves
    awaited: list[str] = []
    manager, utilization = people_resolvers.manager, people_resolvers.utilization

    async def counted_manager(ctx: Any, view: Any) -> Any:
        awaited.append("manager")
        return await manager(ctx, view)

    async def counted_utilization(ctx: Any, view: Any, start: Any, end: Any) -> Any:
        awaited.append("utilization")
        return await utilization(ctx, view, start, end)

    hours_loader = people_resolvers.billable_hours

    def counted_hours_loader(*args: Any) -> Any:
        awaited.append("hours loader")
        return hours_loader(*args)

    monkeypatch.setattr(people_resolvers, "manager", counted_manager)
    monkeypatch.setattr(people_resolvers, "utilization", counted_utilization)
    monkeypatch.setattr(people_resolvers, "billable_hours", counted_hours_loader)
    row_by_row = await make_run(sources)(PEOPLE_ROW_BY_ROW)
    assert "utilization" in awaited  # each row read for itself
    awaited.clear()

    read_ahead = await make_run(sources)(PEOPLE_READ_AHEAD)
    # From the team report, each row finds its hours without the loader.
    assert ("hours loader" in awaited) is not (per_person_reads == 1 and report_approves)
    awaited = [name for name in awaited if name != "hours loader"]

    assert read_ahead.errors is None
    assert row_by_row.errors is None
    rows = people_rows(read_ahead.data)
    assert rows[0]["utilization"] == pytest.approx(32 / 168)  # as test_queries derives it
    assert any(row["manager"] for row in rows)
    assert rows == people_rows(row_by_row.data)
    assert awaited == []  # no row waited: the page's reads answered them


async def test_a_source_failing_under_a_page_of_people_read_ahead_fails_the_same_fields(
    sources, make_run
):
    sources.connectors[TIME].failure = SourceUnavailable(SourceSystem.TIME, "down")

    read_ahead = await make_run(sources)(PEOPLE_READ_AHEAD)
    row_by_row = await make_run(sources)(PEOPLE_ROW_BY_ROW)

    assert failed(read_ahead)
    assert all(path[-1] == "utilization" for path in failed(read_ahead))
    assert failed(read_ahead) == {p for p in failed(row_by_row) if p[-1] != "assignments"}
    assert people_rows(read_ahead.data) == people_rows(row_by_row.data)


async def test_a_range_the_page_cannot_read_is_refused_by_each_row(sources, run):
    result = await run(
        "{ resources(first: 2) { edges { node { name"
        ' utilization(from: "2025-06-30", to: "2025-06-01") } } } }'
    )

    assert [e.message for e in result.errors or []] == [
        "utilization: to (2025-06-01) is before from (2025-06-30)"
    ] * 2
    assert [e["node"]["utilization"] for e in result.data["resources"]["edges"]] == [None, None]
