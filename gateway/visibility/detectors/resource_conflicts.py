"""RESOURCE_CONFLICT: a person booked over their HCM capacity, or booked while inactive
in the HCM. The rules are `gateway.staffing_conflicts`'; this reads every worker and every
PSA participation once and applies them."""

from __future__ import annotations

from collections import defaultdict

from gateway.staffing_conflicts import scan
from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Assignment, PsaUser, SourceSystem, Worker

KIND = ExceptionKind.RESOURCE_CONFLICT


async def detect(ctx: ScanContext) -> list[Finding]:
    workers = await ctx.view.listing(SourceSystem.HCM, "worker")
    users = await ctx.view.listing(SourceSystem.PSA, "user")
    assignments = await ctx.view.listing(SourceSystem.PSA, "assignment")
    worker_of = {u.id: u.employee_number for u in users if isinstance(u, PsaUser)}
    bookings: dict[str, list[Assignment]] = defaultdict(list)
    for assignment in assignments:
        if isinstance(assignment, Assignment):
            worker_id = worker_of.get(assignment.user_id)
            if worker_id:
                bookings[worker_id].append(assignment)
    people = [w for w in workers if isinstance(w, Worker)]
    return [
        Finding(
            KIND,
            "Resource",
            conflict.worker_id,
            SourceSystem.PSA,
            conflict.summary,
            "Rebalance or end the bookings in the PSA",
        )
        for conflict in scan(people, bookings, ctx.today)
    ]


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.HCM, "worker"), (SourceSystem.PSA, "assignment")}),
    needs=frozenset({SourceSystem.HCM, SourceSystem.PSA}),
)
