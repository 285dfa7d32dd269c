"""Finding the same thing in another system, by the references the systems keep:
TIME projects carry the PSA project code, TIME users and HCM workers share a work email,
PSA projects name their ERP job (the finance code)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from gateway.workflows.business import BusinessError
from gateway.workflows.systems import Systems
from sources.records import BillingSchedule, Job, Project, TimeProject, TimeUser, Worker


class NotFoundError(BusinessError):
    """What a command names does not exist where it must."""


async def time_project(systems: Systems, code: str, *, active: bool = False) -> TimeProject:
    """The TIME project carrying the PSA project's code (only active ones if `active`)."""
    filters: dict[str, Any] = {"is_active": True} if active else {}
    cursor: str | None = None
    while True:
        page = await systems.time.list("project", filters, page_size=2000, cursor=cursor)
        for found in page.items:
            if isinstance(found, TimeProject) and found.code == code:
                return found
        if page.next_cursor is None:
            raise NotFoundError("NOT_IN_TIME", f"TIME has no project with code {code}")
        cursor = page.next_cursor


async def time_user(systems: Systems, worker_id: str) -> TimeUser:
    """The TIME user of an HCM worker: the one with the same work email."""
    worker = (await systems.hcm.get_many("worker", [worker_id]))[0]
    if not isinstance(worker, Worker) or not worker.email:
        raise NotFoundError("UNKNOWN_RESOURCE", f"HCM has no worker {worker_id} with an email")
    email = worker.email.casefold()
    cursor: str | None = None
    while True:
        page = await systems.time.list("user", {"is_active": True}, page_size=2000, cursor=cursor)
        for user in page.items:
            if isinstance(user, TimeUser) and user.email.casefold() == email:
                return user
        if page.next_cursor is None:
            raise NotFoundError("NOT_IN_TIME", f"TIME has no user {worker.email}")
        cursor = page.next_cursor


async def projects_by_code(systems: Systems, codes: Iterable[str]) -> dict[str, Project]:
    wanted = sorted(codes)
    if not wanted:
        return {}
    found: dict[str, Project] = {}
    cursor: str | None = None
    while True:
        page = await systems.psa.list("project", {"code": wanted}, page_size=200, cursor=cursor)
        for project in page.items:
            if isinstance(project, Project):
                found.setdefault(project.code, project)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def jobs_by_id(systems: Systems, job_ids: Iterable[str]) -> dict[str, Job]:
    wanted = sorted(job_ids)
    if not wanted:
        return {}
    found = await systems.erp.get_many("job", wanted)
    return {job.id: job for job in found if isinstance(job, Job)}


async def bill_rates(systems: Systems, user_ids: Iterable[str]) -> dict[str, str]:
    """Each TIME user's hourly bill rate, from their HCM worker (matched by work email)."""
    wanted = sorted(user_ids)
    users = [u for u in await systems.time.get_many("user", wanted) if isinstance(u, TimeUser)]

    async def rate(user: TimeUser) -> tuple[str, Decimal | None]:
        page = await systems.hcm.list("worker", {"search": user.name}, page_size=20)
        for worker in page.items:
            if (
                isinstance(worker, Worker)
                and (worker.email or "").casefold() == user.email.casefold()
            ):
                return user.id, worker.bill_rate
        return user.id, None

    found = await asyncio.gather(*(rate(user) for user in users))
    return {user_id: str(value) for user_id, value in found if value is not None}


async def billing_kind(systems: Systems, job_id: str) -> str:
    """How the job bills (its billing schedule's kind); a job without one is a business
    exception, as nobody can tell what to invoice."""
    page = await systems.erp.list("billing_schedule", {"job_id": job_id}, page_size=10)
    kinds = sorted({s.kind for s in page.items if isinstance(s, BillingSchedule)})
    if not kinds:
        raise BusinessError("NO_BILLING_SCHEDULE", f"job {job_id} has no billing schedule")
    return kinds[0]
