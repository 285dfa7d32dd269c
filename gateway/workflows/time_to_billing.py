"""Time to billing: time is submitted to TIME, approved there, and the approved hours are
posted to the ERP against the project's finance code with client, project, practice and
region dimensions.

    approve (TIME) ── post (ERP) ── exceptions (ERP)

`approve` is idempotent in Harvest; `post` upserts one ERP timebill per TIME entry id, so
a repeat overwrites rather than duplicates. Time on a project without a finance code (or
that the ERP refuses, as on a closed project) is not dropped: `exceptions` leaves a
data-quality record and parks the workflow as NEEDS_ATTENTION naming the entries. Once
someone fixes the project, retrying the workflow posts them.

`submit_time` is not a workflow: one write to one system, made idempotent by the
client's key carried as the entry's external reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from gateway.store import IdempotencyConflictError, Store
from gateway.workflows.business import BusinessError, record_data_quality
from gateway.workflows.concurrently import concurrently
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.engine import request_hash
from gateway.workflows.keys import BusinessKey, digest
from gateway.workflows.lookups import (
    NotFoundError,
    bill_rates,
    jobs_by_id,
    projects_by_code,
    time_project,
    time_user,
)
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.values import date_of, decimal_of, iso, money
from sources.errors import SourceRejected
from sources.records import (
    Project,
    TimeEntry,
)

KIND = "approve_time"
SUBMIT_SCOPE = "submit_time"
ALREADY_BILLED = frozenset({"INVOICED"})
APPROVED_OR_LATER = frozenset({"APPROVED", "INVOICED"})
MISSING_FINANCE_CODE = "MISSING_FINANCE_CODE"
POSTING_REFUSED = "POSTING_REFUSED"
UNKNOWN_PROJECT = "UNKNOWN_PROJECT"


def approve_input(time_entry_ids: Sequence[str]) -> dict[str, Any]:
    return {"time_entry_ids": sorted(dict.fromkeys(time_entry_ids))}


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    """Each entry is approved and posted by one workflow: the automation starts one per
    approved entry and joins a person's approval that holds it already; a person's
    approval runs if at least one of its entries is not held by another."""
    ids = input["time_entry_ids"]
    return BusinessKey(KIND, digest(ids), parts=tuple(ids))


# --- submitting -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitTime:
    """Time for a PSA project (its workspace id) by an HCM worker (their worker id)."""

    project_id: str
    resource_id: str
    date: dt.date
    hours: float
    billable: bool
    notes: str | None
    idempotency_key: str

    def as_json(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "resource_id": self.resource_id,
            "date": self.date.isoformat(),
            "hours": self.hours,
            "billable": self.billable,
            "notes": self.notes,
        }


async def submit_time(
    systems: Systems, store: Store, command: SubmitTime, *, principal: str
) -> TimeEntry:
    """The TIME entry for this key: created once, the same entry for every repeat.

    A key is saved only once the request starts executing (Stripe's rule): a request
    refused by a business rule (an unknown project or person) or by TIME itself leaves
    nothing behind, so the caller may correct it and resend it with the same key. Once
    saved, the same key with different details is refused (IdempotencyConflictError).
    """
    key = command.idempotency_key
    fingerprint = request_hash(SUBMIT_SCOPE, command.as_json())
    earlier = await _earlier_entry(systems, store, key, fingerprint)
    if earlier is not None:
        return earlier
    project = (await systems.psa.get_many("project", [command.project_id]))[0]
    if not isinstance(project, Project):
        raise NotFoundError(UNKNOWN_PROJECT, f"PSA has no project {command.project_id}")
    in_time = await time_project(systems, project.code, active=True)
    user = await time_user(systems, command.resource_id)
    claimed, _ = await store.idempotency.claim(SUBMIT_SCOPE, key, fingerprint)
    earlier = await _entry_of(systems, claimed.response)
    if earlier is not None:  # the same request, sent twice at once, finished first
        return earlier
    try:
        entry = await systems.time.create_time_entry(
            user.id,
            in_time.id,
            command.date,
            command.hours,
            command.billable,
            command.notes,
            external_reference=f"psgraph:{key}",
        )
    except SourceRejected:
        # TIME refused it outright, so nothing was written: the key is free again. On a
        # timeout or 5xx it stays: the entry may exist, and only this request may look.
        await store.idempotency.release(SUBMIT_SCOPE, key, fingerprint)
        raise
    async with store.transaction() as tx:
        await tx.idempotency.complete(
            SUBMIT_SCOPE, command.idempotency_key, {"time_entry_id": entry.id}
        )
        await tx.audit.record(
            principal,
            "time.entry.create",
            "TIME",
            "TimeEntry",
            entry.id,
            None,
            {**command.as_json(), "time_project_id": in_time.id, "user_id": user.id},
        )
    return entry


async def _earlier_entry(
    systems: Systems, store: Store, key: str, fingerprint: str
) -> TimeEntry | None:
    """The entry an earlier request with this key made; refuses a key used otherwise."""
    saved = await store.idempotency.get(SUBMIT_SCOPE, key)
    if saved is None:
        return None
    if saved.request_hash != fingerprint:
        raise IdempotencyConflictError(key)
    return await _entry_of(systems, saved.response)


async def _entry_of(systems: Systems, response: Any) -> TimeEntry | None:
    if not isinstance(response, dict) or not response.get("time_entry_id"):
        return None
    entry = (await systems.time.get_many("time_entry", [response["time_entry_id"]]))[0]
    return entry if isinstance(entry, TimeEntry) else None


# --- approving and posting ------------------------------------------------------------


async def approve(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    ids = list(ctx.input["time_entry_ids"])
    found = await systems.time.get_many("time_entry", ids)
    before = [entry for entry in found if isinstance(entry, TimeEntry)]
    if len(before) != len(ids):
        missing = [i for i, entry in zip(ids, found, strict=True) if entry is None]
        raise BusinessError("UNKNOWN_TIME_ENTRY", f"TIME has no entries {missing}")
    # Entries approved in TIME already (the automation's case) cost no second request.
    pending = [entry.id for entry in before if entry.status not in APPROVED_OR_LATER]
    changed = {entry.id: entry for entry in await systems.time.approve(pending)} if pending else {}
    approved = [changed.get(entry.id, entry) for entry in before]
    for old, new in zip(before, approved, strict=True):
        if old.status != new.status:
            ctx.audit(
                "time.entry.approve",
                "TIME",
                "TimeEntry",
                new.id,
                {"status": old.status},
                {
                    "status": new.status,
                    "approvedAt": new.approved_at.isoformat() if new.approved_at else None,
                },
            )
    return {"entries": [_entry_json(entry) for entry in approved]}


def _entry_json(entry: TimeEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "user_id": entry.user_id,
        "project_code": entry.project_code,
        "date": iso(entry.date),
        "hours": entry.hours,
        "billable": entry.billable,
        "notes": entry.notes,
        "status": entry.status,
    }


async def post(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    entries = [e for e in ctx.outputs["approve"]["entries"] if e["status"] not in ALREADY_BILLED]
    others = await _held_by_others(ctx, [e["id"] for e in entries])
    posted, unposted = await post_entries(
        systems, ctx, [e for e in entries if e["id"] not in others]
    )
    return {"posted": posted, "unposted": unposted, "left_to_others": sorted(others)}


async def _held_by_others(ctx: StepContext, ids: Sequence[str]) -> set[str]:
    """Entries another workflow owns (it started first): that one posts them."""
    if ctx.business_key is None:
        return set()
    owners = {
        entry_id: await ctx.store.business_keys.holder(f"{KIND}:{entry_id}") for entry_id in ids
    }
    return {entry_id for entry_id, owner in owners.items() if owner not in (None, ctx.workflow_id)}


async def exceptions(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    """Post what was held back if its project has been fixed; park on what still is not."""
    held = ctx.outputs["post"]["unposted"]
    if not held:
        return {"posted": []}
    posted, still = await post_entries(systems, ctx, [item["entry"] for item in held])
    if not still:
        return {"posted": posted}
    for item in still:
        await record_data_quality(
            ctx.store,
            code=item["code"],
            system="ERP",
            object_type="TimeEntry",
            object_id=item["entry"]["id"],
            details={"project": item["entry"]["project_code"], "reason": item["reason"]},
            workflow_id=ctx.workflow_id,
            principal=ctx.principal,
        )
    codes = sorted({item["code"] for item in still})
    reasons = "; ".join(f"{item['entry']['id']}: {item['reason']}" for item in still[:10])
    raise BusinessError(
        codes[0] if len(codes) == 1 else "TIME_NOT_POSTED",
        f"{len(still)} approved time entries were not posted to the ERP ({reasons})",
    )


async def post_entries(
    systems: Systems, ctx: StepContext, entries: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Post each entry whose project has a finance code; the others come back with why."""
    projects = await projects_by_code(systems, {e["project_code"] for e in entries})
    jobs = await jobs_by_id(systems, {p.erp_job_id for p in projects.values() if p.erp_job_id})
    rates = await bill_rates(systems, {e["user_id"] for e in entries})

    async def one(entry: Mapping[str, Any]) -> dict[str, Any]:
        project = projects.get(entry["project_code"])
        if project is None:
            return _held(entry, UNKNOWN_PROJECT, f"PSA has no project {entry['project_code']}")
        job = jobs.get(project.erp_job_id or "")
        if job is None:
            return _held(entry, MISSING_FINANCE_CODE, f"project {project.code} has no finance code")
        fields = {
            "job_id": job.id,
            "customer_id": job.customer_id,
            "hours": entry["hours"],
            "rate": decimal_of(rates.get(entry["user_id"])),
            "work_date": date_of(entry["date"]),
            "currency": project.currency,
            "practice": project.practice,
            "region": project.region,
            "notes": entry["notes"],
            "billable": entry["billable"],
        }
        try:
            posting = await systems.erp.post_time(entry["id"], fields)
        except SourceRejected as error:  # e.g. time on a closed project
            return _held(entry, POSTING_REFUSED, str(error))
        ctx.audit(
            "erp.time.post",
            "ERP",
            "TimePosting",
            posting.id,
            None,
            {
                "timeEntry": entry["id"],
                "job": job.id,
                "customer": job.customer_id,
                "hours": posting.hours,
                "amount": money(posting.amount),
                "practice": posting.practice,
                "region": posting.region,
            },
        )
        return {
            "posted": {"time_entry_id": entry["id"], "posting_id": posting.id, "job_id": job.id}
        }

    results = await concurrently(*(one(entry) for entry in entries))
    posted = [r["posted"] for r in results if "posted" in r]
    held = [r["held"] for r in results if "held" in r]
    return posted, held


def _held(entry: Mapping[str, Any], code: str, reason: str) -> dict[str, Any]:
    return {"held": {"entry": dict(entry), "code": code, "reason": reason}}


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    return WorkflowDefinition(
        KIND,
        steps=[
            Step("approve", partial(approve, systems), system="TIME", retry=retry),
            Step("post", partial(post, systems), after=["approve"], system="ERP", retry=retry),
            # Business exceptions are not retried; a source outage here still is.
            Step(
                "exceptions",
                partial(exceptions, systems),
                after=["post"],
                system="ERP",
                retry=retry,
            ),
        ],
        on_failure=OnFailure.PARK,
        business_key=business_key,
    )
