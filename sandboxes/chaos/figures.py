"""What a chaos run must show, measured once the faults are lifted:

- duplicates: records made twice for one business key, in every sandbox (must be 0);
- workflows: every one settled, SUCCEEDED or parked for a business error it names;
- events lost: each change the run made in the sandboxes reaches the event log once, and
  a subscriber that reconnects with its cursor sees every logged event exactly once;
- false exceptions: workflows parked or failed for a transient reason (must be 0).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.chaos.client import GatewayDownError, Gateways, GraphQLError
from sources.errors import SourceError
from sources.records import Job, Opportunity, Project, TimeEntry

if TYPE_CHECKING:
    from sandboxes.chaos.run import Chaos

CHECKED_EVENTS = (
    "OpportunityClosedWon",
    "ProjectCreated",
    "TimeApproved",
    "TimePostedToErp",
)
EVENTS_PAGE = """
query($types: [String!], $after: String) {
  events(types: $types, after: $after, first: 500) { cursor type subjectId }
}"""
SUBSCRIBE = """
subscription($types: [String!], $after: String) {
  events(types: $types, after: $after) { cursor type subjectId }
}"""
WORKFLOWS_PAGE = """
query($after: String) {
  workflows(first: 200, after: $after) {
    edges { node { id kind status steps { name status error } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SETTLED = {"SUCCEEDED", "FAILED", "COMPENSATED", "NEEDS_ATTENTION", "CANCELLED"}
BUSINESS = re.compile(r"(?:BusinessError|NotFoundError): ([A-Z][A-Z_]+)")
STAFFING_LINES = 3  # staffing requests a Cloud deal's project raises


@dataclass
class Figures:
    duplicates: dict[str, int] = field(default_factory=dict)  # what -> extra records
    workflows: Counter[str] = field(default_factory=Counter)  # status -> how many
    unsettled: list[str] = field(default_factory=list)
    business: Counter[str] = field(default_factory=Counter)  # parked for: code -> how many
    false_exceptions: list[str] = field(default_factory=list)
    expected_events: int = 0
    lost_events: list[str] = field(default_factory=list)  # not in the log
    repeated_events: list[str] = field(default_factory=list)  # in the log twice
    subscriber_missed: list[str] = field(default_factory=list)
    subscriber_repeated: list[str] = field(default_factory=list)
    subscriber_reconnects: int = 0
    refused_starts: list[str] = field(default_factory=list)

    @property
    def duplicate_count(self) -> int:
        return sum(self.duplicates.values())

    @property
    def events_lost(self) -> int:
        return sum(
            len(x)
            for x in (
                self.lost_events,
                self.repeated_events,
                self.subscriber_missed,
                self.subscriber_repeated,
            )
        )

    @property
    def green(self) -> bool:
        return (
            self.duplicate_count == 0
            and not self.unsettled
            and self.events_lost == 0
            and not self.false_exceptions
        )

    def lines(self) -> list[str]:
        total = sum(self.workflows.values())
        settled = total - len(self.unsettled)
        by_status = ", ".join(f"{s} {n}" for s, n in sorted(self.workflows.items()))
        business = ", ".join(f"{code} {n}" for code, n in sorted(self.business.items()))
        out = [
            f"duplicates by business key: {self.duplicate_count}"
            + (f" ({_named(self.duplicates)})" if self.duplicates else ""),
            f"workflows terminal: {settled}/{total}"
            + (f" ({100 * settled / total:.0f}%)" if total else "")
            + f": {by_status or 'none'}",
            f"  parked for business errors: {business or 'none'}",
            f"events lost: {self.events_lost} of {self.expected_events} changes"
            f" (missing from the log {len(self.lost_events)}, logged twice"
            f" {len(self.repeated_events)}, subscriber missed {len(self.subscriber_missed)},"
            f" subscriber saw twice {len(self.subscriber_repeated)};"
            f" {self.subscriber_reconnects} reconnects with its cursor)",
            f"false exceptions: {len(self.false_exceptions)}",
        ]
        out += [f"  not settled: {w}" for w in self.unsettled[:10]]
        out += [f"  false exception: {w}" for w in self.false_exceptions[:10]]
        out += [f"  lost: {e}" for e in (self.lost_events + self.subscriber_missed)[:10]]
        out += [f"  refused start: {r}" for r in self.refused_starts[:5]]
        out.append("GREEN" if self.green else "NOT GREEN")
        return out


def _named(counts: dict[str, int]) -> str:
    return ", ".join(f"{what} {n}" for what, n in sorted(counts.items()))


class Subscriber:
    """An SSE subscriber to the checked event types that drops its connection now and
    then (and whenever its gateway dies) and resumes from the last cursor it saw,
    alternating between the gateways."""

    def __init__(self, client: Gateways, *, reconnect_every_s: float = 8.0) -> None:
        self._client = client
        self._every = reconnect_every_s
        self.seen: Counter[tuple[str, str, str]] = Counter()  # (cursor, type, subject)
        self.cursor: str | None = None
        self.reconnects = 0

    async def run(self, after: str) -> None:
        self.cursor = after
        turn = 0
        while True:
            turn += 1
            try:
                async with asyncio.timeout(self._every):
                    await self._follow(turn % len(self._client.urls))
            except TimeoutError:
                pass
            except Exception:  # a dead gateway, a refused stream: resume from the cursor
                await asyncio.sleep(0.5)
            self.reconnects += 1

    async def _follow(self, gateway: int) -> None:
        stream = self._client.subscribe(
            SUBSCRIBE, gateway=gateway, types=list(CHECKED_EVENTS), after=self.cursor
        )
        async for data in stream:
            event = data["events"]
            self.seen[(event["cursor"], event["type"], event["subjectId"])] += 1
            self.cursor = event["cursor"]


async def measure(
    client: Gateways,
    systems: Systems,
    subscriber: Subscriber,
    chaos: Chaos,
    *,
    settle_s: float,
    say: Callable[[str], None],
) -> Figures:
    figures = Figures(refused_starts=list(chaos.refused))
    deadline = time.monotonic() + settle_s
    workflows = await _until_settled(client, deadline)
    say(
        f"workflows settled: {sum(1 for w in workflows if w['status'] in SETTLED)}/{len(workflows)}"
    )
    expected = await _expected_events(systems, chaos, figures)
    figures.expected_events = len(expected)
    logged = await _until_logged(client, expected, deadline)
    await _until_subscriber_has(subscriber, logged, deadline)
    _judge_workflows(workflows, figures)
    _judge_events(expected, logged, subscriber, figures)
    figures.subscriber_reconnects = subscriber.reconnects
    return figures


async def _workflows(client: Gateways) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = (await client.query(WORKFLOWS_PAGE, after=after))["workflows"]
        for edge in page["edges"]:
            node = edge["node"]
            failed = [
                f"{s['name']}: {s['error']}" for s in node["steps"] if s["status"] == "FAILED"
            ]
            found.append({**node, "error": "; ".join(failed)})
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def _until_settled(client: Gateways, deadline: float) -> list[dict[str, Any]]:
    while True:
        workflows = await _workflows(client)
        if all(w["status"] in SETTLED for w in workflows) or time.monotonic() > deadline:
            return workflows
        await asyncio.sleep(2.0)


async def _log(client: Gateways) -> Counter[tuple[str, str, str]]:
    logged: Counter[tuple[str, str, str]] = Counter()
    after: str | None = None
    while True:
        page = (await client.query(EVENTS_PAGE, types=list(CHECKED_EVENTS), after=after))["events"]
        for event in page:
            logged[(event["cursor"], event["type"], event["subjectId"])] += 1
        if len(page) < 500:
            return logged
        after = page[-1]["cursor"]


async def _until_logged(
    client: Gateways, expected: set[tuple[str, str]], deadline: float
) -> Counter[tuple[str, str, str]]:
    while True:
        logged = await _log(client)
        present = {(kind, subject) for _, kind, subject in logged}
        if expected <= present or time.monotonic() > deadline:
            return logged
        await asyncio.sleep(2.0)


async def _until_subscriber_has(
    subscriber: Subscriber, logged: Counter[tuple[str, str, str]], deadline: float
) -> None:
    while not set(logged) <= set(subscriber.seen) and time.monotonic() < deadline:
        await asyncio.sleep(1.0)


async def _expected_events(
    systems: Systems, chaos: Chaos, figures: Figures
) -> set[tuple[str, str]]:
    """The events the sandboxes' own records say must be logged, counting duplicates by
    business key on the way."""
    expected: set[tuple[str, str]] = set()
    extra: Counter[str] = Counter()
    for deal in chaos.deals:
        opportunity = (await _read(systems.crm.get_many, "opportunity", [deal]))[0]
        if isinstance(opportunity, Opportunity) and opportunity.stage == "CLOSED_WON":
            expected.add(("OpportunityClosedWon", ids.encode("Opportunity", deal)))
        page = await _read(systems.psa.list, "project", {"crm_opportunity_id": deal}, page_size=50)
        workspaces = [p for p in page.items if isinstance(p, Project)]
        extra["PSA project per opportunity"] += max(0, len(workspaces) - 1)
        for workspace in workspaces:
            expected.add(("ProjectCreated", ids.encode("Project", workspace.id)))
            jobs = await _read(
                systems.erp.list, "job", {"psa_project_id": workspace.id}, page_size=50
            )
            found = [j for j in jobs.items if isinstance(j, Job)]
            extra["ERP job per project"] += max(0, len(found) - 1)
            for job in found:
                schedules = await _read(systems.erp.list, "billing_schedule", {"job_id": job.id})
                extra["ERP billing schedule per job"] += max(0, len(schedules.items) - 1)
            requests = await _read(
                systems.psa.list, "staffing_request", {"project_id": workspace.id}, page_size=50
            )
            extra["PSA staffing request per plan line"] += max(
                0, len(requests.items) - STAFFING_LINES
            )
    for key, entry_id in chaos.entries.items():
        same = await _read(
            systems.time.list, "time_entry", {"external_reference_id": f"psgraph:{key}"}
        )
        extra["TIME entry per idempotency key"] += max(0, len(same.items) - 1)
        entry = (await _read(systems.time.get_many, "time_entry", [entry_id]))[0]
        if isinstance(entry, TimeEntry) and entry.status == "APPROVED":
            expected.add(("TimeApproved", ids.encode("TimeEntry", entry_id)))
        postings = await _read(systems.erp.list, "time_posting", {"time_entry_id": entry_id})
        extra["ERP time posting per time entry"] += max(0, len(postings.items) - 1)
        if postings.items:
            expected.add(("TimePostedToErp", ids.encode("TimeEntry", entry_id)))
    figures.duplicates = {what: n for what, n in extra.items() if n}
    return expected


async def _read(read: Callable[..., Awaitable[Any]], *args: Any, **options: Any) -> Any:
    """`read(*args, **options)` of a sandbox after the faults: retried, as a breaker may
    still be open (each attempt a new call: a coroutine can be awaited only once)."""
    for attempt in range(20):
        try:
            return await read(*args, **options)
        except SourceError:
            if attempt == 19:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


def _judge_workflows(workflows: list[dict[str, Any]], figures: Figures) -> None:
    for workflow in workflows:
        status = workflow["status"]
        figures.workflows[status] += 1
        label = f"{workflow['kind']} {workflow['id']}: {status} {workflow.get('error') or ''}"
        if status not in SETTLED:
            figures.unsettled.append(label)
        elif status in ("NEEDS_ATTENTION", "FAILED", "COMPENSATED"):
            code = BUSINESS.search(workflow.get("error") or "")
            if code is None:
                figures.false_exceptions.append(label)
            else:
                figures.business[code.group(1)] += 1


def _judge_events(
    expected: set[tuple[str, str]],
    logged: Counter[tuple[str, str, str]],
    subscriber: Subscriber,
    figures: Figures,
) -> None:
    by_change = Counter((kind, subject) for _, kind, subject in logged)
    figures.lost_events = [f"{k} {s}" for k, s in sorted(expected - set(by_change))]
    figures.repeated_events = [f"{k} {s}" for (k, s), n in by_change.items() if n > 1]
    received = _cursors(subscriber)
    figures.subscriber_missed = [f"{k} {s} at {c}" for c, k, s in logged if c not in received]
    figures.subscriber_repeated = [
        f"{k} {s} at {c}" for (c, k, s), n in subscriber.seen.items() if n > 1
    ]


def _cursors(subscriber: Subscriber) -> set[str]:
    return {cursor for cursor, _, _ in subscriber.seen}


__all__ = ["CHECKED_EVENTS", "Figures", "GatewayDownError", "GraphQLError", "Subscriber"]
