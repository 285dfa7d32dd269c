"""Generate the firm's world: seeded, deterministic, sized by `scale`.

`generate(seed, scale, today)` returns the same `World` for the same arguments: all
randomness comes from one `random.Random(seed)`, drawn in a fixed order. At scale 1 the
firm has about 300 clients, 1,200 opportunities (800 won, each with a project), 600
people, 150,000 time entries over the last year and 6,000 invoices. Data-quality defects
are injected at the rates in `DefectRates`, and exactly the affected keys are recorded in
`World.defects`; everything else is consistent across systems.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import date

from sandboxes.world import ids
from sandboxes.world.billing import plan_invoices, settle_invoices
from sandboxes.world.clock import Clock
from sandboxes.world.commercial import build_clients, build_contacts, build_opportunities
from sandboxes.world.model import Defects, World
from sandboxes.world.names import CURRENCIES, MANAGER_GRADES, MANAGING_PARTNER, REGIONS
from sandboxes.world.people import build_people
from sandboxes.world.projects import build_billing_schedules, build_milestones, build_projects
from sandboxes.world.staffing import (
    build_assignments,
    build_staffing_requests,
    overbooked_people,
)
from sandboxes.world.timesheets import build_expenses, build_time_entries, draw_time, slot_amounts

MIN_SCALE = 0.01
MAX_SCALE = ids.MAX_SCALE


@dataclass(frozen=True)
class Targets:
    """How many of each thing a world of a given scale has (scale 1 shown as defaults)."""

    clients: int = 300
    won: int = 800
    lost: int = 150
    open: int = 250
    people: int = 600
    time_entries: int = 150_000

    def scaled(self, scale: float) -> Targets:
        return Targets(
            **{f.name: max(1, round(getattr(self, f.name) * scale)) for f in fields(self)}
        )


@dataclass(frozen=True)
class DefectRates:
    """Share of objects carrying each injected defect."""

    projects_without_finance_code: float = 0.03  # of projects
    projects_without_billing_schedule: float = 0.02  # of projects that have a finance code
    approved_time_on_closed_project: float = 0.01  # of APPROVED time entries
    duplicate_customers: float = 0.01  # of clients
    blocked_invoices: float = 0.025  # of invoices


TARGETS = Targets()
DEFECT_RATES = DefectRates()


def share(rate: float, population: int) -> int:
    """How many of `population` carry a defect of `rate`: at least one, so that even a small
    world shows every defect."""
    return max(1, round(rate * population)) if population > 0 else 0


def generate(seed: int = 42, scale: float = 1.0, today: date | None = None) -> World:
    """The firm's world as of `today` (default: the current date).

    Every recorded change (`modified_at`, approvals, payments) happened before `today`
    began (UTC). `scale` multiplies every count; it must lie in [MIN_SCALE, MAX_SCALE].
    """
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}, not {scale}")
    with _collector_paused():
        return _generate(seed, scale, Clock(today or date.today()))


@contextmanager
def _collector_paused() -> Iterator[None]:
    # The world is a large graph without reference cycles, built in one go: the cyclic
    # collector's repeated passes over it would cost a fifth of the run and free nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _generate(seed: int, scale: float, clock: Clock) -> World:
    rng = random.Random(seed)
    targets = TARGETS.scaled(scale)
    rates = DEFECT_RATES

    people = build_people(rng, targets.people, clock)
    owners = [p.name for p in people if p.title == MANAGING_PARTNER or p.title in MANAGER_GRADES]
    clients, duplicates = build_clients(
        rng, targets.clients, owners, share(rates.duplicate_customers, targets.clients), clock
    )
    contacts = build_contacts(rng, clients)
    opportunities = build_opportunities(
        rng, clients, targets.won, targets.lost, targets.open, clock
    )

    without_job = share(rates.projects_without_finance_code, targets.won)
    without_schedule = share(rates.projects_without_billing_schedule, targets.won - without_job)
    projects, jobless, unscheduled = build_projects(
        rng, opportunities, people, without_job, without_schedule, clock
    )
    project_of = {project.opportunity_key: project.key for project in projects}
    opportunities = tuple(
        replace(o, project_key=project_of[o.key]) if o.key in project_of else o
        for o in opportunities
    )
    scheduled = frozenset(range(len(projects))) - jobless - unscheduled
    milestones = build_milestones(rng, projects, scheduled, clock)
    schedules = build_billing_schedules(projects, milestones, scheduled)
    assignments = build_assignments(rng, projects, people)
    staffing_requests = build_staffing_requests(rng, projects, people, assignments, clock)

    plan = plan_invoices(rng, projects, schedules, clock)
    time = draw_time(
        rng,
        targets.time_entries,
        projects,
        assignments,
        plan,
        rates.approved_time_on_closed_project,
        clock,
    )
    settled = settle_invoices(
        rng,
        plan,
        slot_amounts(time, people, projects, plan),
        projects,
        clients,
        rates.blocked_invoices,
        clock,
    )
    time_entries, late_time = build_time_entries(
        time, projects, plan, settled.invoice_of_slot, clock
    )
    expenses = build_expenses(time, people, clock)

    return World(
        seed=seed,
        scale=scale,
        today=clock.today,
        subsidiary_ids=tuple(str(n) for n in range(1, len(REGIONS) + 1)),
        currencies=CURRENCIES,
        clients=clients,
        contacts=contacts,
        opportunities=opportunities,
        people=people,
        projects=projects,
        billing_schedules=schedules,
        milestones=milestones,
        assignments=assignments,
        staffing_requests=staffing_requests,
        time_entries=time_entries,
        expenses=expenses,
        invoices=settled.invoices,
        payments=settled.payments,
        defects=Defects(
            projects_without_finance_code=jobless,
            projects_without_billing_schedule=unscheduled,
            approved_time_on_closed_project=late_time,
            duplicate_customers=duplicates,
            blocked_invoices=settled.blocked,
            overbooked_people=overbooked_people(people, assignments, clock.today),
        ),
    )
