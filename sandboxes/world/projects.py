"""Projects won from opportunities, their milestones, and the billing schedules behind them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sandboxes.world import ids
from sandboxes.world.clock import Clock, month_ends
from sandboxes.world.commercial import START_AFTER_CLOSE, WON
from sandboxes.world.model import (
    BillingSchedule,
    BillingScheduleLine,
    Milestone,
    Opportunity,
    Person,
    Project,
)
from sandboxes.world.names import MILESTONE_NAMES, PROJECT_MANAGEMENT

MILESTONE_CONTRACT = "MILESTONE"
CLOSED_STATUSES = frozenset({"COMPLETED", "CANCELLED"})
CENT = Decimal("0.01")


def build_projects(
    rng: random.Random,
    opportunities: Sequence[Opportunity],
    people: Sequence[Person],
    without_job: int,
    without_schedule: int,
    clock: Clock,
) -> tuple[tuple[Project, ...], frozenset[int], frozenset[int]]:
    """One project per closed-won opportunity, keyed in order of start date.

    `without_job` projects (chosen at random) get no ERP job, and `without_schedule` of the
    others get none in the billing schedules. Returns the projects and those two key sets.
    """
    managers: dict[str, list[int]] = {}
    for person in people:
        if PROJECT_MANAGEMENT in person.skills:
            managers.setdefault(person.practice, []).append(person.key)

    drafts = []
    for opportunity in opportunities:
        if opportunity.stage != WON:
            continue
        start = opportunity.close_date + timedelta(days=rng.randint(*START_AFTER_CLOSE))
        end = start + timedelta(days=rng.randint(120, 600))
        status, end = _status(rng, start, end, clock)
        drafts.append((start, opportunity.key, end, status))
    drafts.sort()

    count = len(drafts)
    jobless = frozenset(rng.sample(range(count), min(without_job, count)))
    with_job = [key for key in range(count) if key not in jobless]
    unscheduled = frozenset(rng.sample(with_job, min(without_schedule, len(with_job))))
    job_numbers = {key: i for i, key in enumerate(with_job)}

    projects = []
    for key, (start, opportunity_key, end, status) in enumerate(drafts):
        opportunity = opportunities[opportunity_key]
        job = job_numbers.get(key)
        projects.append(
            Project(
                key=key,
                client_key=opportunity.client_key,
                opportunity_key=opportunity_key,
                code=f"PRJ-{key + 1:05d}",
                name=opportunity.name,
                status=status,
                practice=opportunity.practice,
                region=opportunity.region,
                start_date=start,
                end_date=end,
                budget=opportunity.amount,
                currency=opportunity.currency,
                contract_type=opportunity.contract_type,
                manager_key=rng.choice(managers[opportunity.practice]),
                psa_id=ids.numeric(ids.PSA_WORKSPACE, key),
                time_project_id=ids.numeric(ids.TIME_PROJECT, key),
                erp_job_id=None if job is None else ids.numeric(ids.ERP_JOB, job),
                modified_at=clock.moment_between(rng, opportunity.close_date, clock.today),
            )
        )
    return tuple(projects), jobless, unscheduled


def _status(rng: random.Random, start: date, end: date, clock: Clock) -> tuple[str, date]:
    """The status on `clock.today`, and the end date (a cancelled project ends early)."""
    if start >= clock.today:
        return "PLANNED", end
    if end < clock.today:
        if rng.random() < 0.06:
            return "CANCELLED", start + (end - start) * rng.randint(30, 80) // 100
        return "COMPLETED", end
    return ("ON_HOLD" if rng.random() < 0.06 else "ACTIVE"), end


def build_milestones(
    rng: random.Random, projects: Sequence[Project], scheduled: frozenset[int], clock: Clock
) -> tuple[Milestone, ...]:
    """Two to six milestones per project, spread to its end, their amounts summing to budget.

    A milestone-billed project's past milestones are BILLED once invoiceable; otherwise a
    past milestone is COMPLETED and a future one OPEN.
    """
    milestones: list[Milestone] = []
    for project in projects:
        count = rng.randint(2, 6)
        names = [MILESTONE_NAMES[i] for i in sorted(rng.sample(range(len(MILESTONE_NAMES)), count))]
        amounts = split(project.budget, [rng.uniform(1, 3) for _ in range(count)])
        span = (project.end_date - project.start_date).days
        billed_by_milestone = (
            project.contract_type == MILESTONE_CONTRACT and project.key in scheduled
        )
        for i, (name, amount) in enumerate(zip(names, amounts, strict=True)):
            due = project.start_date + timedelta(days=span * (i + 1) // count)
            completed_at = None
            if due < clock.today:
                status = "BILLED" if billed_by_milestone and clock.invoiceable(due) else "COMPLETED"
                done_on = max(project.start_date, due - timedelta(days=rng.randint(0, 4)))
                completed_at = clock.at(done_on, rng.randint(9, 18), rng.randint(0, 59))
                modified_at = completed_at
            else:
                status = "OPEN"
                modified_at = clock.moment_between(
                    rng, project.start_date - timedelta(days=30), clock.today
                )
            key = len(milestones)
            milestones.append(
                Milestone(
                    key=key,
                    project_key=project.key,
                    name=name,
                    due_date=due,
                    status=status,
                    amount=amount,
                    completed_at=completed_at,
                    psa_id=ids.numeric(ids.PSA_STORY, key),
                    modified_at=modified_at,
                )
            )
    return tuple(milestones)


def build_billing_schedules(
    projects: Sequence[Project],
    milestones: Sequence[Milestone],
    scheduled: frozenset[int],
) -> tuple[BillingSchedule, ...]:
    """A schedule for each project in `scheduled`, of the project's contract type.

    Milestone contracts bill each milestone on its due date; fixed-fee and time-and-materials
    contracts bill monthly (the latter's lines are a forecast; invoices carry the actuals).
    Every schedule's lines sum to the project's budget.
    """
    by_project: dict[int, list[Milestone]] = {}
    for milestone in milestones:
        by_project.setdefault(milestone.project_key, []).append(milestone)
    schedules: list[BillingSchedule] = []
    for project in projects:
        if project.key not in scheduled:
            continue
        if project.contract_type == MILESTONE_CONTRACT:
            lines = tuple(
                BillingScheduleLine(m.due_date, m.amount, m.key) for m in by_project[project.key]
            )
        else:
            dates = month_ends(project.start_date, project.end_date)
            amounts = split(project.budget, [1.0] * len(dates))
            lines = tuple(BillingScheduleLine(d, a) for d, a in zip(dates, amounts, strict=True))
        key = len(schedules)
        schedules.append(
            BillingSchedule(
                key=key,
                project_key=project.key,
                kind=project.contract_type,
                lines=lines,
                erp_id=ids.numeric(ids.ERP_BILLING_SCHEDULE, key),
            )
        )
    return tuple(schedules)


def split(total: Decimal, weights: Sequence[float]) -> list[Decimal]:
    """`total` in cents, shared by `weights`; the last share takes the rounding remainder."""
    whole = sum(weights)
    shares = [(total * Decimal(w / whole)).quantize(CENT) for w in weights[:-1]]
    return [*shares, total - sum(shares, Decimal(0))]
