"""What capture saw becomes domain events once, whichever way it came, and the read cache
forgets the records it saw."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.exc import IntegrityError

from gateway.events.ingest import Ingest, Receipt, Sighting
from gateway.store import Store
from sources.records import Milestone, SourceSystem
from tests.unit.events.conftest import Invalidations
from tests.unit.events.fakes import T0, project, time_entry

TIME = SourceSystem.TIME


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def test_a_status_reached_is_an_event_about_the_record(ingest: Ingest):
    await ingest.apply(Sighting(TIME, "time_entry", [time_entry("1", "SUBMITTED")]))

    applied = await ingest.apply(Sighting(TIME, "time_entry", [time_entry("1", "APPROVED")]))

    [approved] = applied.events
    assert approved.type == "TimeApproved"
    assert approved.subject_id == "TimeEntry:1"
    assert approved.data == {"id": "1", "from": "SUBMITTED", "to": "APPROVED"}


async def test_the_same_change_seen_by_a_poll_and_a_push_is_one_event(ingest: Ingest, store: Store):
    await ingest.apply(Sighting(TIME, "time_entry", [time_entry("1", "SUBMITTED")]))
    change = Sighting(TIME, "time_entry", [time_entry("1", "APPROVED")])

    by_poll = await ingest.apply(change, cursor="c2")
    by_push = await ingest.apply(change, receipt=Receipt("msg_1", TIME))

    assert len(by_poll.events) == 1
    assert by_push.events == []
    assert [e.type for e in await store.events.read_after(None)] == [
        "TimeSubmitted",
        "TimeApproved",
    ]


async def test_a_webhook_id_delivered_twice_is_applied_once(ingest: Ingest):
    push = Sighting(TIME, "time_entry", [time_entry("1", "APPROVED")])

    first = await ingest.apply(push, receipt=Receipt("msg_1", TIME))
    again = await ingest.apply(push, receipt=Receipt("msg_1", TIME))

    assert (first.duplicate, again.duplicate) == (False, True)


async def test_an_older_read_that_arrives_late_changes_nothing(ingest: Ingest):
    newer = time_entry("1", "APPROVED").model_copy(update={"modified_at": at(20)})
    older = time_entry("1", "SUBMITTED").model_copy(update={"modified_at": at(10)})
    await ingest.apply(Sighting(TIME, "time_entry", [newer]))

    late = await ingest.apply(Sighting(TIME, "time_entry", [older]))
    again = await ingest.apply(
        Sighting(TIME, "time_entry", [newer.model_copy(update={"modified_at": at(30)})])
    )

    assert late.events == []
    assert again.events == []  # still APPROVED: nothing moved


async def test_the_cursor_advances_with_the_events_it_produced(ingest: Ingest, store: Store):
    await ingest.apply(Sighting(TIME, "time_entry", [time_entry("1")]), cursor="after-1")

    assert await store.cursors.get("TIME", "time_entry") == "after-1"


async def test_every_record_seen_is_forgotten_by_the_read_cache(
    ingest: Ingest, invalidations: Invalidations
):
    await ingest.apply(Sighting(SourceSystem.PSA, "project", [project("5")], deleted_ids=["6"]))

    assert invalidations.calls == [("PSA", "project", ["5", "6"])]


async def test_a_baseline_makes_the_first_change_of_an_existing_project_a_status_change(
    ingest: Ingest,
):
    await ingest.learn(SourceSystem.PSA, "project", [project("5", "ACTIVE")])

    applied = await ingest.apply(Sighting(SourceSystem.PSA, "project", [project("5", "ON_HOLD")]))

    assert [e.type for e in applied.events] == ["ProjectStatusChanged"]


async def test_a_project_never_seen_is_a_new_project(ingest: Ingest):
    applied = await ingest.apply(Sighting(SourceSystem.PSA, "project", [project("5")]))

    assert [e.type for e in applied.events] == ["ProjectCreated"]


async def test_milestone_events_name_their_project(ingest: Ingest):
    milestone = Milestone(id="77", project_id="5", name="Go-live", status="COMPLETED")

    applied = await ingest.apply(Sighting(SourceSystem.PSA, "milestone", [milestone]))

    [completed] = applied.events
    assert completed.type == "MilestoneCompleted"
    assert completed.data["projectId"] == "Project:5"


async def test_invalidations_from_another_process_reach_this_cache(
    ingest: Ingest, invalidations: Invalidations
):
    ingest.invalidated_elsewhere(
        '{"origin": "other", "system": "CRM", "entity": "opportunity", "ids": ["006A"]}'
    )
    ingest.invalidated_elsewhere(
        f'{{"origin": "{ingest.origin}", "system": "CRM", "entity": "account", "ids": ["1"]}}'
    )
    ingest.invalidated_elsewhere("not json")

    assert invalidations.calls == [("CRM", "opportunity", ["006A"])]


async def test_changes_seen_together_are_logged_in_the_order_they_happened(ingest: Ingest):
    later = time_entry("2", "APPROVED").model_copy(update={"modified_at": at(20)})
    earlier = time_entry("1", "APPROVED").model_copy(update={"modified_at": at(10)})

    applied = await ingest.apply(Sighting(TIME, "time_entry", [later, earlier]))

    assert [e.subject_id for e in applied.events] == ["TimeEntry:1", "TimeEntry:2"]


async def test_concurrent_changes_share_a_transaction_and_each_gets_its_own_answer(
    ingest: Ingest, store: Store
):
    pushes = [
        ingest.apply(
            Sighting(TIME, "time_entry", [time_entry(str(n), "APPROVED")]),
            receipt=Receipt(f"msg_{n % 5}", TIME),  # five ids, each pushed twice
        )
        for n in range(10)
    ]

    applied = await asyncio.gather(*pushes)

    assert [a.duplicate for a in applied] == [False] * 5 + [True] * 5
    assert len(await store.events.read_after(None)) == 5


async def test_one_change_the_store_refuses_does_not_fail_the_others_written_with_it(
    ingest: Ingest, store: Store
):
    good = Sighting(TIME, "time_entry", [time_entry("1", "APPROVED")])
    refused = Receipt(None, TIME)  # type: ignore[arg-type]  # the store requires an id

    outcomes = await asyncio.gather(
        ingest.apply(good, receipt=Receipt("msg_1", TIME)),
        ingest.apply(good, receipt=refused),
        ingest.apply(
            Sighting(TIME, "time_entry", [time_entry("2", "APPROVED")]),
            receipt=Receipt("msg_2", TIME),
        ),
        return_exceptions=True,
    )

    assert isinstance(outcomes[1], IntegrityError)
    assert [len(o.events) for o in (outcomes[0], outcomes[2])] == [1, 1]  # type: ignore[union-attr]
    assert len(await store.events.read_after(None)) == 2
