"""A node's schema object is built once per record object and shared by the rows and
requests that show that record; another record, even an equal one, gets its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from resolvers.links import ClientView
from schema import shared_views
from schema.clients import Client
from schema.projects import Project
from schema.shared_views import SharedViews
from sources.records import Account
from sources.records import Project as ProjectRecord


def a_project(**changes: object) -> ProjectRecord:
    fields: dict[str, object] = {
        "id": "1001",
        "code": "P-1001",
        "name": "Data platform",
        "status": "ACTIVE",
        "start_date": date(2026, 1, 5),
        "budget": Decimal("120000.00"),
    }
    return ProjectRecord.model_validate({**fields, **changes})


def test_the_same_record_shows_as_the_same_object():
    record = a_project()

    assert Project.of(record) is Project.of(record)


def test_an_equal_record_from_other_bytes_is_built_afresh():
    first, second = a_project(), a_project()

    assert first == second
    assert Project.of(first) is not Project.of(second)
    assert Project.of(first).name == Project.of(second).name


def test_what_is_built_is_what_the_record_says():
    shown = Project.of(a_project(name="Renamed", budget=Decimal("5.00")))

    assert shown.name == "Renamed"
    assert shown.budget is not None
    assert shown.budget.amount == Decimal("5.00")


def test_a_view_made_afresh_of_the_same_records_shows_as_the_same_object():
    account = Account(id="001000000000001AAA", name="Acme")

    assert Client.of(ClientView(account.id, account)) is Client.of(ClientView(account.id, account))
    other = Account(id="001000000000002AAA", name="Beta")
    assert Client.of(ClientView(other.id, other)).name == "Beta"


def test_a_full_map_starts_again_rather_than_grow(monkeypatch):
    monkeypatch.setattr(shared_views, "LIMIT", 3)
    built: list[int] = []
    views: SharedViews[list[int], int] = SharedViews(lambda source: built.append(1) or len(built))
    kept = [[n] for n in range(5)]  # alive throughout: their ids stay theirs

    assert [views(source) for source in kept] == [1, 2, 3, 4, 5]
    assert views(kept[4]) == 5  # still kept
    assert views(kept[0]) == 6  # dropped when the map started again
