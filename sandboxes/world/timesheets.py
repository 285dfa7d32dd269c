"""A year of time entries and expenses, drawn from assignments, up to the day before today.

`draw_time` decides every entry (who, where, when, how long, its status and the invoice slot
that billed it) as plain rows, because T&M invoices are priced from those rows before the
entries can point at invoice keys; `build_time_entries` and `build_expenses` then turn the
rows into records. Rows are sorted by date, so TIME's ids grow with time as the vendor's do.

Statuses follow age: the last week is DRAFT or SUBMITTED, the week before mostly approved,
anything older APPROVED (INVOICED once its billing period has been invoiced), with a few
REJECTED throughout.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

from sandboxes.world import ids
from sandboxes.world.billing import InvoicePlan
from sandboxes.world.clock import Clock
from sandboxes.world.model import Assignment, Expense, Person, Project, TimeEntry
from sandboxes.world.names import EXPENSE_CATEGORIES, TIME_NOTES, USD_PER_UNIT
from sandboxes.world.projects import CENT, CLOSED_STATUSES

DRAFT, SUBMITTED, APPROVED, REJECTED, INVOICED = (
    "DRAFT",
    "SUBMITTED",
    "APPROVED",
    "REJECTED",
    "INVOICED",
)
BILLABLE_SHARE = 0.9
EXPENSE_SHARE = 0.04
EXPENSE_BILLABLE_SHARE = 0.85
# Time logged after a closed project's end lands within this many days of it.
LATE_TIME_DAYS = 30
# Entries younger than this are not approved yet.
APPROVAL_AGE = 8

# A row: (ordinal, person key, project key, hours, billable, status, note, slot, late)
TimeRow = tuple[int, int, int, float, bool, str, str, int, bool]
# An expense row: (ordinal, person key, project key, category, cents, billable, status)
ExpenseRow = tuple[int, int, int, str, int, bool, str]


@dataclass
class TimeDraft:
    rows: list[TimeRow] = field(default_factory=list)
    expenses: list[ExpenseRow] = field(default_factory=list)
    # hours per (invoice slot, person), to price T&M invoices
    slot_hours: dict[tuple[int, int], float] = field(default_factory=dict)


def draw_time(
    rng: random.Random,
    target: int,
    projects: Sequence[Project],
    assignments: Sequence[Assignment],
    plan: InvoicePlan,
    late_share: float,
    clock: Clock,
) -> TimeDraft:
    """About `target` entries on assigned weekdays, plus late time on closed projects.

    Each assigned weekday in the window carries an entry with the same probability, chosen
    so the total comes to `target`. Then `late_share` of all APPROVED entries are added as
    APPROVED time on a COMPLETED or CANCELLED project, dated after its end.
    """
    first, today = clock.window_start.toordinal(), clock.today.toordinal()
    weekdays = [o for o in range(first, today) if (o - 1) % 7 < 5]  # ordinal 1 was a Monday
    spans = []
    for assignment in assignments:
        lo = bisect_left(weekdays, max(assignment.start_date.toordinal(), first))
        hi = bisect_right(weekdays, assignment.end_date.toordinal())
        if hi > lo:
            spans.append((assignment, lo, hi))
    available = sum(hi - lo for _a, lo, hi in spans)
    chance = min(1.0, target / available) if available else 0.0

    draft = TimeDraft()
    rows, expenses, slot_hours = draft.rows, draft.expenses, draft.slot_hours
    rand = rng.random
    notes = TIME_NOTES
    approved = 0
    for assignment, lo, hi in spans:
        person, project = assignment.person_key, assignment.project_key
        daily = assignment.hours_per_week / 5
        period_ends, period_slots = plan.periods.get(project, ((), ()))
        for i in range(lo, hi):
            if rand() >= chance:
                continue
            day = weekdays[i]
            hours = min(10.0, max(0.5, round(daily * (0.6 + 0.8 * rand()) * 4) / 4))
            billable = rand() < BILLABLE_SHARE
            status = _status(today - day, rand())
            slot = -1
            if status == APPROVED:
                if billable:
                    period = bisect_left(period_ends, day)
                    if period < len(period_slots):
                        slot = period_slots[period]
                if slot >= 0:
                    status = INVOICED
                    slot_hours[slot, person] = slot_hours.get((slot, person), 0.0) + hours
                else:
                    approved += 1
            note = notes[int(rand() * len(notes))]
            rows.append((day, person, project, hours, billable, status, note, slot, False))
            if rand() < EXPENSE_SHARE:
                expenses.append(_expense(rng, day, person, project, status))

    late = max(1, round(late_share * approved / (1 - late_share)))
    rows.extend(_late_rows(rng, late, projects, assignments, weekdays, clock))
    return draft


def _status(age: int, draw: float) -> str:
    if age < APPROVAL_AGE:
        return DRAFT if draw < (0.8 if age <= 3 else 0.2) else SUBMITTED
    if age < 2 * APPROVAL_AGE:
        return SUBMITTED if draw < 0.5 else REJECTED if draw < 0.52 else APPROVED
    return REJECTED if draw < 0.01 else APPROVED


def _expense(rng: random.Random, day: int, person: int, project: int, status: str) -> ExpenseRow:
    category, (low, high) = EXPENSE_CATEGORIES[rng.randrange(len(EXPENSE_CATEGORIES))]
    billable = rng.random() < EXPENSE_BILLABLE_SHARE
    if status in (DRAFT, SUBMITTED):
        status = SUBMITTED
    elif status == INVOICED and not billable:
        status = APPROVED
    return (day, person, project, category, rng.randint(low * 100, high * 100), billable, status)


def _late_rows(
    rng: random.Random,
    count: int,
    projects: Sequence[Project],
    assignments: Sequence[Assignment],
    weekdays: list[int],
    clock: Clock,
) -> list[TimeRow]:
    """APPROVED time by someone who was on a closed project, logged after it ended."""
    last_day = clock.today.toordinal() - 2 * APPROVAL_AGE
    windows = []
    for assignment in assignments:
        project = projects[assignment.project_key]
        if project.status not in CLOSED_STATUSES:
            continue
        after_end = project.end_date.toordinal() + 1
        lo = bisect_left(weekdays, after_end)
        hi = bisect_right(weekdays, min(after_end + LATE_TIME_DAYS, last_day))
        if after_end >= weekdays[0] and hi > lo:
            windows.append((assignment, lo, hi))
    if not windows:
        return []
    rows: list[TimeRow] = []
    for _ in range(count):
        assignment, lo, hi = rng.choice(windows)
        day = weekdays[rng.randrange(lo, hi)]
        hours = float(rng.randint(2, 16)) / 2
        note = rng.choice(TIME_NOTES)
        person_key, project_key = assignment.person_key, assignment.project_key
        rows.append((day, person_key, project_key, hours, True, APPROVED, note, -1, True))
    return rows


def slot_amounts(
    draft: TimeDraft, people: Sequence[Person], projects: Sequence[Project], plan: InvoicePlan
) -> dict[int, Decimal]:
    """What each slot bills for its invoiced hours, at each person's bill rate in the
    project's currency."""
    amounts: dict[int, Decimal] = {}
    for (slot, person_key), hours in draft.slot_hours.items():
        person = people[person_key]
        currency = projects[plan.slots[slot].project_key].currency
        rate = person.bill_rate * USD_PER_UNIT[person.currency] / USD_PER_UNIT[currency]
        amounts[slot] = amounts.get(slot, Decimal(0)) + Decimal(hours) * rate
    return {slot: amount.quantize(CENT) for slot, amount in amounts.items()}


def build_time_entries(
    draft: TimeDraft,
    projects: Sequence[Project],
    plan: InvoicePlan,
    invoice_of_slot: Sequence[int | None],
    clock: Clock,
) -> tuple[tuple[TimeEntry, ...], frozenset[int]]:
    """The entries, in date order, and the keys of those logged after their project closed.

    Approved and invoiced hours on a project with an ERP job carry the id of their posting
    to the ERP; a project without a job has nowhere to post them.
    """
    draft.rows.sort(key=itemgetter(0, 1, 2))
    first = clock.window_start.toordinal()
    span = clock.today.toordinal() - first
    days = [clock.window_start + timedelta(days=n) for n in range(span)]
    evenings = [clock.at(day, 18) for day in days]
    approvals = [clock.at(day + timedelta(days=1), 9) for day in days]
    issued = [clock.at(slot.issue_date, 15) for slot in plan.slots]
    has_job = [project.erp_job_id is not None for project in projects]

    entries = []
    late_keys = []
    postings = 0
    for key, (day, person, project, hours, billable, status, note, slot, late) in enumerate(
        draft.rows
    ):
        n = day - first
        posting = None
        approved_at = None
        modified_at = evenings[n]
        if status == APPROVED or status == INVOICED:
            approved_at = modified_at = approvals[n]
            if has_job[project]:
                posting = str(ids.ERP_TIME_POSTING + postings)
                postings += 1
        elif status == REJECTED:
            modified_at = approvals[n]
        invoice_key = None
        if slot >= 0:
            invoice_key = invoice_of_slot[slot]
            modified_at = issued[slot]
        if late:
            late_keys.append(key)
        # Positional, in field order: this runs for every entry, and keywords cost a third more.
        entries.append(
            TimeEntry(
                key,
                person,
                project,
                days[n],
                hours,
                billable,
                status,
                note,
                approved_at,
                invoice_key,
                str(ids.TIME_ENTRY + key),
                posting,
                modified_at,
            )
        )
    return tuple(entries), frozenset(late_keys)


def build_expenses(draft: TimeDraft, people: Sequence[Person], clock: Clock) -> tuple[Expense, ...]:
    """The expenses, in date order, in the spender's currency."""
    draft.expenses.sort(key=itemgetter(0, 1, 2))
    expenses = []
    for key, (day, person, project, category, cents, billable, status) in enumerate(draft.expenses):
        spent_on = date.fromordinal(day)
        # Submitted the evening it was spent; reviewed the next morning.
        modified_at = (
            clock.at(spent_on, 19)
            if status == SUBMITTED
            else clock.at(spent_on + timedelta(days=1), 9)
        )
        expenses.append(
            Expense(
                key=key,
                person_key=person,
                project_key=project,
                date=spent_on,
                amount=Decimal(cents).scaleb(-2),
                currency=people[person].currency,
                billable=billable,
                status=status,
                category=category,
                time_id=ids.numeric(ids.TIME_EXPENSE, key),
                modified_at=modified_at,
            )
        )
    return tuple(expenses)
