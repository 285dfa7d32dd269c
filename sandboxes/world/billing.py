"""Invoices raised from billing schedules, and the payments received against them.

Billing happens in two steps around the time entries. `plan_invoices` decides which
billing periods have been invoiced by today (one slot per invoiceable schedule line) so time
entries can be marked as invoiced by the slot covering their date; `settle_invoices` then
prices each slot (time-and-materials slots from the hours linked to them), numbers the
invoices, sets their status, and records payments.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sandboxes.world import ids
from sandboxes.world.clock import Clock
from sandboxes.world.model import BillingSchedule, Client, Invoice, Payment, Project
from sandboxes.world.names import BLOCKED_REASONS, CREDIT_HOLD, PAYMENT_TERMS
from sandboxes.world.projects import CENT

TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
TERM_DAYS = dict(PAYMENT_TERMS)
VOID_SHARE = 0.015
PARTIAL_PAYMENT_SHARE = 0.2
SPLIT_PAYMENT_SHARE = 0.15


@dataclass(frozen=True)
class Slot:
    """One invoiced billing period of one project."""

    index: int
    project_key: int
    period_end: date
    issue_date: date
    fixed_amount: Decimal | None  # None: priced from the time entries linked to it
    voided_on: date | None  # a first invoice, issued that day, was voided and reissued


@dataclass
class InvoicePlan:
    slots: list[Slot] = field(default_factory=list)
    # project key -> (ordinals of its schedule's period ends, slot index per period or -1);
    # a day belongs to the first period ending on or after it.
    periods: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)


def plan_invoices(
    rng: random.Random,
    projects: Sequence[Project],
    schedules: Sequence[BillingSchedule],
    clock: Clock,
) -> InvoicePlan:
    """A slot per schedule line whose period has ended and been invoiced by today.

    A time-and-materials period inside the time-entry window is priced from its time; an
    older one (whose time is no longer in the data) at its forecast amount.
    """
    plan = InvoicePlan()
    latest_issue = clock.today - timedelta(days=1)
    for schedule in schedules:
        ends, slot_indexes = [], []
        for line in schedule.lines:
            ends.append(line.date.toordinal())
            if not clock.invoiceable(line.date):
                slot_indexes.append(-1)
                continue
            issue = min(line.date + timedelta(days=rng.randint(1, 4)), latest_issue)
            voided_on = None
            if rng.random() < VOID_SHARE and issue <= clock.today - timedelta(days=10):
                voided_on, issue = issue, issue + timedelta(days=rng.randint(2, 6))
            priced_from_time = schedule.kind == TIME_AND_MATERIALS and (
                line.date >= clock.window_start
            )
            slot = Slot(
                index=len(plan.slots),
                project_key=schedule.project_key,
                period_end=line.date,
                issue_date=issue,
                fixed_amount=None if priced_from_time else line.amount,
                voided_on=voided_on,
            )
            plan.slots.append(slot)
            slot_indexes.append(slot.index)
        plan.periods[schedule.project_key] = (ends, slot_indexes)
    return plan


@dataclass(frozen=True)
class Settled:
    invoices: tuple[Invoice, ...]
    payments: tuple[Payment, ...]
    invoice_of_slot: tuple[int | None, ...]  # the live invoice key per slot
    blocked: frozenset[int]


def settle_invoices(
    rng: random.Random,
    plan: InvoicePlan,
    time_amounts: Mapping[int, Decimal],
    projects: Sequence[Project],
    clients: Sequence[Client],
    blocked_share: float,
    clock: Clock,
) -> Settled:
    """Invoices for the plan's slots, keyed by issue date; a time-priced slot without time
    gets none. `blocked_share` of all invoices (chosen at random among live ones) are BLOCKED.
    """
    drafts: list[tuple[date, int, int, int, Decimal]] = []  # issue, project, live?, slot, amount
    for slot in plan.slots:
        amount = slot.fixed_amount
        if amount is None:
            amount = time_amounts.get(slot.index, Decimal(0))
        if amount <= 0:
            continue
        if slot.voided_on is not None:
            drafts.append((slot.voided_on, slot.project_key, 0, slot.index, amount))
        drafts.append((slot.issue_date, slot.project_key, 1, slot.index, amount))
    drafts.sort()

    live_keys = [key for key, draft in enumerate(drafts) if draft[2]]
    blocked_count = min(max(1, round(blocked_share * len(drafts))), len(live_keys))
    blocked = frozenset(rng.sample(live_keys, blocked_count))
    invoice_of_slot: list[int | None] = [None] * len(plan.slots)
    reissued_on = {slot.index: slot.issue_date for slot in plan.slots}
    numbers: dict[int, int] = {}
    invoices: list[Invoice] = []
    payment_drafts: list[tuple[date, int, Decimal]] = []
    for key, (issue, project_key, live, slot_index, amount) in enumerate(drafts):
        project = projects[project_key]
        client = clients[project.client_key]
        numbers[issue.year] = numbers.get(issue.year, 0) + 1
        due = issue + timedelta(days=TERM_DAYS[client.payment_terms])
        received: list[tuple[date, Decimal]] = []
        blocked_reason = None
        if not live:
            status, modified_at = "VOID", clock.at(reissued_on[slot_index], 10)
        else:
            invoice_of_slot[slot_index] = key
            if key in blocked:
                status, modified_at = "BLOCKED", clock.at(issue, 16, rng.randint(0, 59))
                blocked_reason = (
                    CREDIT_HOLD if client.credit_status == "HOLD" else rng.choice(BLOCKED_REASONS)
                )
            else:
                status, received = _collection(rng, issue, due, amount, clock)
                last = received[-1][0] if received else issue
                modified_at = clock.at(last, 15 if last == issue else 14, rng.randint(0, 59))
        invoices.append(
            Invoice(
                key=key,
                client_key=client.key,
                project_key=project_key,
                number=f"INV-{issue.year}-{numbers[issue.year]:06d}",
                status=status,
                amount=amount,
                currency=project.currency,
                issue_date=issue,
                due_date=due,
                paid_at=modified_at if status == "PAID" else None,
                blocked_reason=blocked_reason,
                erp_id=ids.numeric(ids.ERP_INVOICE, key),
                modified_at=modified_at,
            )
        )
        payment_drafts.extend((day, key, paid) for day, paid in received)

    payment_drafts.sort()
    payments = tuple(
        Payment(
            key=key,
            invoice_key=invoice_key,
            amount=amount,
            currency=invoices[invoice_key].currency,
            received_on=day,
            erp_id=ids.numeric(ids.ERP_PAYMENT, key),
        )
        for key, (day, invoice_key, amount) in enumerate(payment_drafts)
    )
    return Settled(tuple(invoices), payments, tuple(invoice_of_slot), blocked)


def _collection(
    rng: random.Random, issue: date, due: date, amount: Decimal, clock: Clock
) -> tuple[str, list[tuple[date, Decimal]]]:
    """The status of a live invoice and the payments received on it so far."""
    today = clock.today
    age = (today - issue).days
    # Invoices wait in draft for review for a few days, some for a couple of weeks.
    if rng.random() < (0.7 if age <= 5 else 0.25 if age <= 15 else 0.0):
        return "DRAFT", []
    overdue = (today - due).days
    paid_share = 0.92 if overdue > 20 else 0.6 if overdue > 0 else 0.25
    latest = today - timedelta(days=1)
    if rng.random() < paid_share:
        paid_on = min(issue + timedelta(days=rng.randint(5, (due - issue).days + 20)), latest)
        if rng.random() < SPLIT_PAYMENT_SHARE and (paid_on - issue).days >= 2:
            first_on = issue + timedelta(days=rng.randint(1, (paid_on - issue).days - 1))
            first = (amount * Decimal(rng.uniform(0.4, 0.6))).quantize(CENT)
            return "PAID", [(first_on, first), (paid_on, amount - first)]
        return "PAID", [(paid_on, amount)]
    if age >= 10 and rng.random() < PARTIAL_PAYMENT_SHARE:
        received_on = issue + timedelta(days=rng.randint(1, age - 1))
        return "POSTED", [(received_on, (amount * Decimal(rng.uniform(0.3, 0.7))).quantize(CENT))]
    return "POSTED", []
