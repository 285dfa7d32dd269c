"""Log consumers: with the opportunity-won automation on, closed-won deals start
quote-to-project by themselves, once per deal; deliveries that keep failing are
dead-lettered and can be replayed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from gateway.events.deliveries import (
    AlreadyReplayedError,
    Consumer,
    Deliveries,
    DeliveryError,
    UnknownDeadLetterError,
)
from gateway.events.domain import DomainEvent, Subject
from gateway.events.live import LiveFeed
from gateway.events.log import EventLog
from gateway.events.triggers import automation_trigger, consumer_name, idempotency_key
from gateway.settings import EventsConfig
from gateway.store import EventRecord, Store
from sources.records import SourceSystem


def closed_won(opportunity_id: str, version: str = "v1") -> DomainEvent:
    return DomainEvent(
        type="OpportunityClosedWon",
        source=SourceSystem.CRM,
        subject=Subject("Opportunity", opportunity_id),
        data={"id": opportunity_id},  # the native id the automation's input is made of
        dedup_key=f"OpportunityClosedWon:{opportunity_id}:{version}",
    )


WON = next(
    a.model_copy(update={"enabled": True})
    for a in EventsConfig().automations
    if a.name == "opportunity-won-to-project"
)


def key_of(opportunity_id: str) -> str:
    """The idempotency key the automation starts the deal's quote-to-project with."""
    input = {"opportunity_id": opportunity_id, "start_date": None, "manager_id": None}
    return idempotency_key(WON.name, WON.workflow, input)


def quote_to_project_trigger(starter: Starter) -> Consumer:
    return automation_trigger(WON, starter)


class Starter:
    """Stands in for the workflow engine: idempotent on its key, may fail."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[str, str]] = []
        self.started: dict[str, str] = {}

    async def __call__(
        self, kind: str, input: dict[str, object], idempotency_key: str, principal: str
    ) -> str:
        assert (kind, principal) == ("quote_to_project", "automation:opportunity-won-to-project")
        self.calls.append((str(input["opportunity_id"]), idempotency_key))
        if self.failures:
            self.failures -= 1
            raise DeliveryError("the CRM is down")
        return self.started.setdefault(idempotency_key, f"wf-{len(self.started) + 1}")


async def until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
def make_deliveries(store: Store, feed: LiveFeed) -> Callable[..., AsyncIterator[Deliveries]]:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(*consumers: Consumer, attempts: int = 3) -> AsyncIterator[Deliveries]:
        deliveries = Deliveries(store, feed, consumers, attempts=attempts, backoff_s=0.01)
        await deliveries.start()
        try:
            yield deliveries
        finally:
            await deliveries.stop()

    return make  # type: ignore[return-value]


async def test_a_closed_won_deal_starts_quote_to_project_once(event_log: EventLog, make_deliveries):
    starter = Starter()
    async with make_deliveries(quote_to_project_trigger(starter)):
        await event_log.append([closed_won("006A"), closed_won("006A", "v2")])
        await until(lambda: len(starter.calls) == 2)

    assert starter.calls == [("006A", key_of("006A")), ("006A", key_of("006A"))]
    assert starter.started == {key_of("006A"): "wf-1"}


async def test_a_trigger_resumes_after_a_restart_without_repeating_or_missing(
    event_log: EventLog, make_deliveries
):
    starter = Starter()
    async with make_deliveries(quote_to_project_trigger(starter)):
        await event_log.append([closed_won("1")])
        await until(lambda: len(starter.calls) == 1)
    await event_log.append([closed_won("2")])  # while no consumer runs

    async with make_deliveries(quote_to_project_trigger(starter)):
        await until(lambda: len(starter.calls) >= 2)

    assert [opportunity for opportunity, _ in starter.calls] == ["1", "2"]


async def test_a_stop_while_a_handled_event_is_recorded_still_records_it(
    event_log: EventLog, store: Store, feed: LiveFeed, monkeypatch: pytest.MonkeyPatch
):
    writing, written = asyncio.Event(), asyncio.Event()
    set_offset = store.cursors.set

    async def slow_set(source: str, entity: str, cursor: str) -> None:
        if cursor != "0":  # not the offset a new consumer starts from
            writing.set()
            await written.wait()
        await set_offset(source, entity, cursor)

    monkeypatch.setattr(store.cursors, "set", slow_set)
    deliveries = Deliveries(store, feed, [quote_to_project_trigger(Starter())])
    await deliveries.start()
    await event_log.append([closed_won("1")])
    await writing.wait()

    stopping = asyncio.create_task(deliveries.stop())
    await asyncio.sleep(0)
    written.set()
    await stopping

    name = consumer_name(WON.name)
    assert await store.cursors.get("log", name) == str(await store.events.last_cursor())


async def test_a_failure_is_retried_before_it_counts(event_log: EventLog, make_deliveries, store):
    starter = Starter(failures=2)
    async with make_deliveries(quote_to_project_trigger(starter), attempts=3):
        await event_log.append([closed_won("1")])
        await until(lambda: starter.started)

    assert len(starter.calls) == 3
    assert await store.dead_letters.find() == []


async def test_a_delivery_that_keeps_failing_is_dead_lettered_and_the_next_goes_on(
    event_log: EventLog, make_deliveries, store: Store
):
    starter = Starter(failures=3)
    async with make_deliveries(quote_to_project_trigger(starter), attempts=3) as deliveries:
        await event_log.append([closed_won("1"), closed_won("2")])
        await until(lambda: key_of("2") in starter.started)
        [letter] = await deliveries.dead_letters()

    assert letter.kind == consumer_name(WON.name)
    assert letter.attempts == 3
    assert letter.error == "DeliveryError: the CRM is down"
    assert letter.payload["event"]["subject_id"] == "Opportunity:1"


async def test_a_dead_letter_replayed_is_delivered_and_marked(
    event_log: EventLog, make_deliveries, store: Store
):
    starter = Starter(failures=3)
    async with make_deliveries(quote_to_project_trigger(starter), attempts=3) as deliveries:
        await event_log.append([closed_won("1")])
        await until(lambda: len(starter.calls) == 3)
        [letter] = await _letters(deliveries)

        replayed = await deliveries.replay(letter.id)
        with pytest.raises(AlreadyReplayedError):
            await deliveries.replay(letter.id)

    assert replayed.replayed_at is not None
    assert starter.started == {key_of("1"): "wf-1"}
    assert await deliveries.dead_letters() == []


async def test_a_replay_that_fails_again_keeps_the_letter(
    event_log: EventLog, make_deliveries, store: Store
):
    starter = Starter(failures=4)
    async with make_deliveries(quote_to_project_trigger(starter), attempts=3) as deliveries:
        await event_log.append([closed_won("1")])
        [letter] = await _letters(deliveries)

        with pytest.raises(DeliveryError):
            await deliveries.replay(letter.id)

        assert [d.id for d in await deliveries.dead_letters()] == [letter.id]


async def test_replaying_an_unknown_letter_is_a_clear_error(make_deliveries):
    async with make_deliveries() as deliveries:
        with pytest.raises(UnknownDeadLetterError):
            await deliveries.replay(404)


async def test_history_before_the_first_start_is_not_delivered(
    event_log: EventLog, make_deliveries
):
    await event_log.append([closed_won("old")])
    starter = Starter()
    async with make_deliveries(quote_to_project_trigger(starter)):
        await event_log.append([closed_won("new")])
        await until(lambda: starter.calls)

    assert [opportunity for opportunity, _ in starter.calls] == ["new"]


async def _letters(deliveries: Deliveries) -> list:
    async with asyncio.timeout(5):
        while not (found := await deliveries.dead_letters()):
            await asyncio.sleep(0.01)
    return found


def test_a_consumer_name_must_fit_its_offset_key():
    async def ignore(_: EventRecord) -> None:
        pass

    with pytest.raises(ValueError, match="1 to 50 characters"):
        Consumer("x" * 51, ignore)


async def test_events_appended_together_reach_a_batch_consumer_in_one_call(
    event_log: EventLog, make_deliveries
):
    batches: list[list[str]] = []

    async def one(event: EventRecord) -> None:
        batches.append([str(event.subject_id)])

    async def many(events: Sequence[EventRecord]) -> None:
        batches.append([str(e.subject_id) for e in events])

    batching = Consumer("batching", one, frozenset({"OpportunityClosedWon"}), many, batch_max=10)
    async with make_deliveries(batching):
        await event_log.append([closed_won("1"), closed_won("2"), closed_won("3")])
        await until(lambda: sum(map(len, batches)) == 3)

    assert batches == [["Opportunity:1", "Opportunity:2", "Opportunity:3"]]
