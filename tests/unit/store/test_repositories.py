"""The store's repositories: what each promises, on a fresh database."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.store import (
    CrosswalkConflictError,
    IdempotencyConflictError,
    LeaseLostError,
    Store,
    WorkflowStatus,
)
from gateway.store.types import utcnow


async def _workflow(store: Store, id: str, key: str | None = None, kind: str = "demo"):
    created = await store.workflows.create(
        id=id,
        kind=kind,
        input={"n": 1},
        input_hash="h",
        idempotency_key=key,
        principal="alice",
        now=utcnow(),
    )
    assert created is not None
    return created


# --- workflows and steps -------------------------------------------------------------


async def test_a_new_workflow_is_pending_and_due(store: Store):
    workflow = await _workflow(store, "w1")

    assert workflow.status is WorkflowStatus.PENDING
    assert workflow.next_run_at is not None
    assert workflow.created_at.tzinfo is not None
    assert await store.workflows.get("w1") == workflow


async def test_an_idempotency_key_creates_one_workflow(store: Store):
    await _workflow(store, "w1", key="k")

    again = await store.workflows.create(
        id="w2",
        kind="demo",
        input={},
        input_hash="other",
        idempotency_key="k",
        principal=None,
        now=utcnow(),
    )

    assert again is None
    found = await store.workflows.by_idempotency_key("k")
    assert found is not None
    assert found.id == "w1"


async def test_claim_leases_due_workflows_of_known_kinds_once(store: Store):
    await _workflow(store, "w1")
    await _workflow(store, "w2", kind="other")
    now = utcnow()
    lease = now + dt.timedelta(seconds=30)

    first = await store.workflows.claim(
        owner="a", kinds={"demo"}, limit=10, now=now, lease_until=lease
    )
    second = await store.workflows.claim(
        owner="b", kinds={"demo"}, limit=10, now=now, lease_until=lease
    )

    assert [w.id for w in first] == ["w1"]
    assert first[0].status is WorkflowStatus.RUNNING
    assert first[0].lease_owner == "a"
    assert first[0].attempts == 1
    assert second == []


async def test_an_expired_lease_can_be_claimed_by_another_worker(store: Store):
    await _workflow(store, "w1")
    now = utcnow()
    await store.workflows.claim(
        owner="a", kinds={"demo"}, limit=1, now=now, lease_until=now + dt.timedelta(seconds=1)
    )

    later = now + dt.timedelta(seconds=2)
    taken = await store.workflows.claim(
        owner="b", kinds={"demo"}, limit=1, now=later, lease_until=later + dt.timedelta(seconds=1)
    )

    assert [w.lease_owner for w in taken] == ["b"]
    assert taken[0].attempts == 2
    assert not await store.workflows.renew_lease("w1", "a", later)
    with pytest.raises(LeaseLostError):
        await store.workflows.update_leased("w1", "a", error="stale worker")


async def test_every_update_bumps_the_version(store: Store):
    created = await _workflow(store, "w1")
    now = utcnow()
    await store.workflows.claim(
        owner="a", kinds={"demo"}, limit=1, now=now, lease_until=now + dt.timedelta(seconds=9)
    )

    version = await store.workflows.touch("w1", "a")

    assert version == created.version + 2


async def test_update_if_only_applies_in_the_expected_status(store: Store):
    await _workflow(store, "w1")

    refused = await store.workflows.update_if(
        "w1", [WorkflowStatus.FAILED], status=WorkflowStatus.CANCELLED
    )
    applied = await store.workflows.update_if(
        "w1", [WorkflowStatus.PENDING], status=WorkflowStatus.CANCELLED
    )

    assert refused is None
    assert applied is not None
    assert applied.status is WorkflowStatus.CANCELLED


async def test_workflows_are_listed_newest_first_and_counted(store: Store):
    for n in range(3):
        await _workflow(store, f"w{n}")
    await store.workflows.update_if("w1", [WorkflowStatus.PENDING], status=WorkflowStatus.FAILED)

    listed = await store.workflows.find(limit=2)
    failed = await store.workflows.find(status=WorkflowStatus.FAILED)

    assert [w.id for w in listed] == ["w2", "w1"]
    assert [w.id for w in failed] == ["w1"]
    assert await store.workflows.count() == 3
    assert await store.workflows.count(status=WorkflowStatus.PENDING) == 2
    assert set(await store.workflows.get_many(["w0", "w2", "nope"])) == {"w0", "w2"}


async def test_steps_keep_definition_order_and_are_created_once(store: Store):
    await _workflow(store, "w1")
    await store.steps.create_missing("w1", [("validate", "CRM"), ("create", "PSA")])
    await store.steps.update("w1", "validate", status=WorkflowStatus.SUCCEEDED, output={"ok": 1})

    await store.steps.create_missing("w1", [("validate", "CRM"), ("create", "PSA"), ("bill", None)])
    steps = await store.steps.for_workflow("w1")

    assert [(s.name, s.system, s.status) for s in steps] == [
        ("validate", "CRM", WorkflowStatus.SUCCEEDED),
        ("create", "PSA", WorkflowStatus.PENDING),
        ("bill", None, WorkflowStatus.PENDING),
    ]
    assert steps[0].output == {"ok": 1}
    assert await store.steps.for_workflows(["w1", "other"]) == {"w1": steps}


# --- idempotency keys ----------------------------------------------------------------


async def test_an_idempotency_key_replays_for_the_same_request(store: Store):
    first, created = await store.idempotency.claim("submitTime", "k1", "hash-a")
    await store.idempotency.complete("submitTime", "k1", {"id": "T-1"})

    again, created_again = await store.idempotency.claim("submitTime", "k1", "hash-a")

    assert created
    assert not created_again
    assert again.response == {"id": "T-1"}
    assert again.created_at == first.created_at


async def test_an_idempotency_key_with_another_request_conflicts(store: Store):
    await store.idempotency.claim("submitTime", "k1", "hash-a")

    with pytest.raises(IdempotencyConflictError):
        await store.idempotency.claim("submitTime", "k1", "hash-b")
    _, created = await store.idempotency.claim("otherScope", "k1", "hash-b")
    assert created


async def test_a_released_claim_frees_the_key_but_a_completed_one_is_kept(store: Store):
    await store.idempotency.claim("submitTime", "refused", "hash-a")
    await store.idempotency.claim("submitTime", "done", "hash-a")
    await store.idempotency.complete("submitTime", "done", {"id": "T-1"})

    released = await store.idempotency.release("submitTime", "refused", "hash-a")
    kept = await store.idempotency.release("submitTime", "done", "hash-a")

    assert (released, kept) == (True, False)
    _, created = await store.idempotency.claim("submitTime", "refused", "hash-b")
    assert created
    with pytest.raises(IdempotencyConflictError):
        await store.idempotency.claim("submitTime", "done", "hash-b")


# --- outbox ----------------------------------------------------------------------------


async def test_outbox_messages_are_fetched_in_order_until_published(store: Store):
    ids = [await store.outbox.add("workflow", {"n": n}) for n in range(3)]

    pending = await store.outbox.fetch_unpublished()
    await store.outbox.mark_published(ids[:2])

    assert [m.payload["n"] for m in pending] == [0, 1, 2]
    assert [m.id for m in await store.outbox.fetch_unpublished()] == ids[2:]


async def test_outbox_rows_roll_back_with_their_transaction(store: Store):
    async def change_that_fails() -> None:
        async with store.transaction() as tx:
            await tx.outbox.add("workflow", {"n": 1})
            raise RuntimeError("state change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()

    assert await store.outbox.fetch_unpublished() == []


async def test_relay_publishes_each_message_once_in_order(store: Store):
    for n in range(5):
        await store.outbox.add("workflow", {"n": n})
    seen: list[int] = []

    async def publish(message):
        seen.append(message.payload["n"])

    assert await store.relay_outbox(publish, limit=2) == 5
    assert await store.relay_outbox(publish) == 0
    assert seen == [0, 1, 2, 3, 4]


# --- crosswalk -------------------------------------------------------------------------


async def test_crosswalk_looks_up_both_ways(store: Store):
    await store.crosswalk.link("Project", "P-1", "PSA", "ws-9", workflow_id="w1")
    await store.crosswalk.link("Project", "P-1", "ERP", "prj-3")

    assert await store.crosswalk.native_id("Project", "P-1", "PSA") == "ws-9"
    assert await store.crosswalk.global_key("Project", "ERP", "prj-3") == "P-1"
    assert await store.crosswalk.refs("Project", "P-1") == {"PSA": "ws-9", "ERP": "prj-3"}
    assert await store.crosswalk.global_keys("Project", "PSA", ["ws-9", "ws-0"]) == {"ws-9": "P-1"}
    assert await store.crosswalk.native_id("Project", "P-2", "PSA") is None


async def test_linking_the_same_pair_twice_is_harmless(store: Store):
    first = await store.crosswalk.link("Project", "P-1", "PSA", "ws-9")
    again = await store.crosswalk.link("Project", "P-1", "PSA", "ws-9")

    assert again == first


@pytest.mark.parametrize(
    ("global_key", "native_id"),
    [
        pytest.param("P-2", "ws-9", id="native-id-already-linked-to-another-key"),
        pytest.param("P-1", "ws-8", id="key-already-linked-to-another-native-id"),
    ],
)
async def test_a_conflicting_link_is_refused(store: Store, global_key: str, native_id: str):
    await store.crosswalk.link("Project", "P-1", "PSA", "ws-9")

    with pytest.raises(CrosswalkConflictError):
        await store.crosswalk.link("Project", global_key, "PSA", native_id)


# --- audit -----------------------------------------------------------------------------


async def test_audit_entries_keep_before_and_after(store: Store):
    await store.audit.record(
        "alice", "invoice.post", "ERP", "Invoice", "INV-1", None, {"total": 10}, "w1"
    )
    await store.audit.record(
        "bob", "invoice.void", "ERP", "Invoice", "INV-1", {"total": 10}, {"void": True}
    )
    await store.audit.record("bob", "project.close", "PSA", "Project", "P-1", {}, {})

    entries = await store.audit.find(object_type="Invoice", object_id="INV-1")

    assert [(e.principal, e.action, e.before, e.after) for e in entries] == [
        ("alice", "invoice.post", None, {"total": 10}),
        ("bob", "invoice.void", {"total": 10}, {"void": True}),
    ]
    assert [e.action for e in await store.audit.find(workflow_id="w1")] == ["invoice.post"]


# --- event log -------------------------------------------------------------------------


async def test_events_are_read_after_a_cursor_in_order(store: Store):
    appended = [
        await store.events.append("TimeApproved", {"n": n}, source="TIME", subject_id=f"s{n % 2}")
        for n in range(5)
    ]
    cursors = [e.cursor for e in appended if e is not None]

    after_second = await store.events.read_after(cursors[1])
    for_subject = await store.events.read_after(None, subject_id="s0")

    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 5
    assert [e.data["n"] for e in after_second] == [2, 3, 4]
    assert [e.data["n"] for e in for_subject] == [0, 2, 4]
    assert await store.events.last_cursor() == cursors[-1]


async def test_events_filter_by_type_and_limit(store: Store):
    await store.events.append("ProjectActivated", {})
    await store.events.append("TimeApproved", {})
    await store.events.append("ProjectActivated", {})

    projects = await store.events.read_after(None, types=["ProjectActivated"], limit=1)

    assert [e.type for e in projects] == ["ProjectActivated"]
    assert await store.events.read_after(projects[0].cursor, types=["ProjectActivated"]) != []


async def test_an_event_with_a_seen_dedup_key_is_not_appended_again(store: Store):
    first = await store.events.append("InvoicePosted", {"id": 1}, dedup_key="ERP:inv:1:v1")
    again = await store.events.append("InvoicePosted", {"id": 1}, dedup_key="ERP:inv:1:v1")

    assert first is not None
    assert again is None
    assert await store.events.seen("ERP:inv:1:v1")
    assert len(await store.events.read_after(None)) == 1


async def test_an_empty_log_has_cursor_zero(store: Store):
    assert await store.events.last_cursor() == 0
    assert await store.events.read_after(None) == []


# --- webhooks, cursors, dead letters ---------------------------------------------------


async def test_a_webhook_id_is_accepted_once(store: Store):
    assert await store.webhooks.record("msg_1", "ERP")
    assert not await store.webhooks.record("msg_1", "ERP")
    assert await store.webhooks.prune(utcnow() + dt.timedelta(seconds=1)) == 1
    assert await store.webhooks.record("msg_1", "ERP")


async def test_change_cursors_are_kept_per_source_and_entity(store: Store):
    await store.cursors.set("CRM", "Opportunity", "2026-01-01T00:00:00Z")
    await store.cursors.set("CRM", "Opportunity", "2026-01-02T00:00:00Z")
    await store.cursors.set("TIME", "TimeEntry", "42")

    assert await store.cursors.get("CRM", "Opportunity") == "2026-01-02T00:00:00Z"
    assert await store.cursors.get("CRM", "Account") is None
    assert [(c.source, c.entity) for c in await store.cursors.all()] == [
        ("CRM", "Opportunity"),
        ("TIME", "TimeEntry"),
    ]


async def test_dead_letters_wait_until_replayed(store: Store):
    letter = await store.dead_letters.add("event.deliver", {"cursor": 7}, "timeout", attempts=5)
    await store.dead_letters.add("webhook", {"id": "x"}, "bad signature")

    assert [d.id for d in await store.dead_letters.find(kind="event.deliver")] == [letter.id]
    assert await store.dead_letters.mark_replayed(letter.id)
    assert not await store.dead_letters.mark_replayed(letter.id)
    assert [d.kind for d in await store.dead_letters.find()] == ["webhook"]
    replayed = await store.dead_letters.get(letter.id)
    assert replayed is not None
    assert replayed.replayed_at is not None
    assert replayed.payload == {"cursor": 7}
    assert replayed.attempts == 5
