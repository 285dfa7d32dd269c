"""Following the references the systems keep to each other, through the request's loaders.

- ERP customer.crm_account_id = CRM account id;
- PSA project.crm_account_id / crm_opportunity_id / erp_job_id; ERP job.psa_project_id;
- TIME project.code = PSA project.code;
- PSA user.employee_number = HCM worker id; TIME users match people by work email.

Every function reads through loaders, so calling it for each object of a level costs one
batched read per source for the whole level.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from resolvers.cache import mark_retrieved
from resolvers.context import RequestContext
from resolvers.loaders import normal_key, settled, shared
from sources.errors import SourceDataError
from sources.records import (
    Account,
    Customer,
    Job,
    Project,
    PsaUser,
    Record,
    SourceSystem,
    TimeProject,
    TimeUser,
    Worker,
)

CRM, PSA, HCM, ERP, TIME = (
    SourceSystem.CRM,
    SourceSystem.PSA,
    SourceSystem.HCM,
    SourceSystem.ERP,
    SourceSystem.TIME,
)
R = TypeVar("R", bound=Record)

PSA_PREFIX = "psa:"  # Resource keys of people PSA knows and HCM does not
ERP_PREFIX = "erp:"  # Client keys of ERP customers no CRM account matches


@dataclass(frozen=True)
class ClientView:
    """A client: built from its CRM account; from its ERP customer only when no CRM
    account matches it (`key` then starts with "erp:")."""

    key: str
    account: Account | None
    customer: Customer | None = None


@dataclass(frozen=True)
class ResourceView:
    """A person: built from the HCM worker; from the PSA user when HCM has none
    (`key` then starts with "psa:")."""

    key: str
    worker: Worker | None
    psa_user: PsaUser | None = None


async def by_id(
    ctx: RequestContext, system: SourceSystem, entity: str, record_id: str | None, kind: type[R]
) -> R | None:
    if not record_id:
        return None
    return cast(R | None, await ctx.loaders.by_id(system, entity).load(record_id))


async def children(
    ctx: RequestContext,
    system: SourceSystem,
    entity: str,
    key: str,
    parent_id: str | None,
    kind: type[R],
    **filters: object,
) -> list[R]:
    if not parent_id:
        return []
    loader = ctx.loaders.by_key(system, entity, key, filters or None)
    return await loader.load(parent_id)  # type: ignore[return-value]


def first_by_id(records: Sequence[R], preferred: str | None = None) -> R | None:
    """The record with id `preferred` if present, else the lowest id: a stable pick when
    a system holds duplicates."""
    if not records:
        return None
    for record in records:
        if record.id == preferred:
            return record
    return min(records, key=lambda r: (len(r.id), r.id))


def dangling(system: SourceSystem, what: str) -> SourceDataError:
    """A reference a system holds to a record it does not have."""
    return SourceDataError(system, f"dangling reference: {what}")


# --- clients ----------------------------------------------------------------------------


async def client(ctx: RequestContext, account_id: str | None) -> ClientView | None:
    account = await by_id(ctx, CRM, "account", account_id, Account)
    return ClientView(account.id, account) if account is not None else None


def client_if_read(ctx: RequestContext, account_id: str | None) -> tuple[bool, ClientView | None]:
    """`client(ctx, account_id)` without waiting, when this request has read the account
    already (see `prefetch_clients`); (False, None) otherwise."""
    if not account_id:
        return True, None
    read, account = ctx.loaders.peek(CRM, "account", account_id)
    if not read:
        return False, None
    return True, (ClientView(account.id, account) if account is not None else None)


def start_client_reads(
    ctx: RequestContext, account_ids: Iterable[str | None]
) -> list[asyncio.Future[Record | None]]:
    """Start reading a page's accounts in one batch without waiting for it: when its rows
    also read other sources, those reads then start beside this one instead of after it,
    and each row's client awaits this same read."""
    loader = ctx.loaders.by_id(CRM, "account")
    reads = [loader.load(key) for key in {key for key in account_ids if key}]
    for read in reads:
        read.add_done_callback(mark_retrieved)
    return reads


async def prefetch_clients(ctx: RequestContext, account_ids: Iterable[str | None]) -> None:
    """Read a page's accounts in one batch before its rows ask, so each row's client
    resolves without a coroutine of its own. A failed read stays in the loader: the row
    that needs it sees the failure as it would have without the prefetch."""
    await settle_all(start_client_reads(ctx, account_ids))


async def read_by_id(
    ctx: RequestContext,
    system: SourceSystem,
    entity: str,
    record_ids: Iterable[str | None],
    kind: type[R],
) -> list[R]:
    """The records `record_ids` in one batch for all of them, before the rows that need
    them ask (see `prefetch_clients`); those read."""
    wanted = {record_id for record_id in record_ids if record_id}
    loader = ctx.loaders.by_id(system, entity)
    await settle_all([loader.load(record_id) for record_id in wanted])
    found = (ctx.loaders.peek(system, entity, record_id) for record_id in wanted)
    return [cast(R, record) for read, record in found if read and record is not None]


async def read_children(
    ctx: RequestContext,
    system: SourceSystem,
    entity: str,
    key: str,
    parent_ids: Iterable[str | None],
) -> None:
    """`children(...)` of every parent in `parent_ids` in one batch, before the rows that
    need them ask (see `prefetch_clients`)."""
    loader = ctx.loaders.by_key(system, entity, key)
    await settle_all([loader.load(parent_id) for parent_id in {p for p in parent_ids if p}])


async def settle_all(reads: Sequence[asyncio.Future[Any]]) -> None:
    """Until every read has settled, succeeded or not: a failure stays in its loader for
    the row that needs it to see, as it would have without reading ahead."""
    if reads:
        await asyncio.wait(reads)


async def client_of_customer(ctx: RequestContext, customer_id: str | None) -> ClientView | None:
    customer = await by_id(ctx, ERP, "customer", customer_id, Customer)
    if customer is None:
        return None
    if customer.crm_account_id:
        found = await client(ctx, customer.crm_account_id)
        if found is not None:
            return found
    return ClientView(ERP_PREFIX + customer.id, None, customer)


def client_of_customer_if_read(
    ctx: RequestContext, customer_id: str | None
) -> tuple[bool, ClientView | None]:
    """`client_of_customer(ctx, customer_id)` without waiting, when this request has read
    the customer and its account; (False, None) otherwise."""
    if not customer_id:
        return True, None
    read, customer = ctx.loaders.peek(ERP, "customer", customer_id)
    if not read or customer is None:
        return read, None
    if customer.crm_account_id:
        read, view = client_if_read(ctx, customer.crm_account_id)
        if not read:
            return False, None
        if view is not None:
            return True, view
    return True, ClientView(ERP_PREFIX + customer.id, None, customer)


async def read_clients_of_customers(
    ctx: RequestContext, customer_ids: Iterable[str | None]
) -> None:
    """ERP customers `customer_ids`, then their CRM accounts, a level each for all of them
    (see `prefetch_clients`)."""
    customers = await read_by_id(ctx, ERP, "customer", customer_ids, Customer)
    await prefetch_clients(ctx, (customer.crm_account_id for customer in customers))


async def client_by_key(ctx: RequestContext, key: str) -> ClientView | None:
    if key.startswith(ERP_PREFIX):
        return await client_of_customer(ctx, key.removeprefix(ERP_PREFIX))
    return await client(ctx, key)


async def erp_customers(ctx: RequestContext, view: ClientView) -> list[Customer]:
    """The client's ERP customers (more than one is a duplicate-customer defect)."""
    if view.account is None:
        return [view.customer] if view.customer is not None else []
    found = await children(ctx, ERP, "customer", "crm_account_id", view.account.id, Customer)
    return _in_id_order(found)


def erp_customers_if_read(ctx: RequestContext, view: ClientView) -> tuple[bool, list[Customer]]:
    """`erp_customers(ctx, view)` without waiting, when this request has read them."""
    if view.account is None:
        return True, [view.customer] if view.customer is not None else []
    read, found = ctx.loaders.peek_children(ERP, "customer", "crm_account_id", view.account.id)
    return (True, _in_id_order(found)) if read else (False, [])


async def read_erp_customers(ctx: RequestContext, views: Iterable[ClientView]) -> None:
    """The ERP customers of clients `views` in one read (see `prefetch_clients`)."""
    accounts = (view.account.id for view in views if view.account is not None)
    await read_children(ctx, ERP, "customer", "crm_account_id", accounts)


def _in_id_order(customers: Iterable[Customer]) -> list[Customer]:
    return sorted(customers, key=lambda c: (len(c.id), c.id))


async def unlinked_namesakes(ctx: RequestContext, company: str) -> list[Customer]:
    """ERP customers without a CRM link whose name is `company` written another way: the
    duplicates someone keyed in by hand."""
    wanted = company_key(company)
    return [
        customer
        for customer in cast(list[Customer], await ctx.loaders.listing(ERP, "customer"))
        if not customer.crm_account_id and company_key(customer.name) == wanted
    ]


LEGAL_FORMS = frozenset(
    {
        "inc",
        "ltd",
        "llc",
        "plc",
        "ag",
        "gmbh",
        "sa",
        "bv",
        "co",
        "corp",
        "corporation",
        "limited",
        "group",
        "holdings",
        "partners",
    }
)


def company_key(name: str) -> str:
    """A company name without case, punctuation or its legal form: "Apex Bank, Inc" and
    "Apex Bank Inc." are the same company."""
    words = "".join(c if c.isalnum() else " " for c in name.casefold()).split()
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


# --- projects ---------------------------------------------------------------------------


async def erp_job(ctx: RequestContext, project: Project) -> Job | None:
    jobs = await children(ctx, ERP, "job", "psa_project_id", project.id, Job)
    return first_by_id(jobs, project.erp_job_id)


async def read_erp_jobs(ctx: RequestContext, page: Iterable[Project]) -> None:
    """The ERP jobs of a page's projects in one read (see `prefetch_clients`)."""
    await read_children(ctx, ERP, "job", "psa_project_id", (project.id for project in page))


def erp_job_if_read(ctx: RequestContext, project: Project) -> tuple[bool, Job | None]:
    """`erp_job(ctx, project)` without waiting, when this request has read it; (False,
    None) otherwise (as `Loaders.peek`)."""
    if not project.id:
        return True, None
    read, jobs = ctx.loaders.peek_children(ERP, "job", "psa_project_id", project.id)
    return (True, first_by_id(jobs, project.erp_job_id)) if read else (False, None)


async def project_by_code(ctx: RequestContext, code: str | None) -> Project | None:
    found = await children(ctx, PSA, "project", "code", code, Project)
    return first_by_id(found)


async def time_project(ctx: RequestContext, code: str | None) -> TimeProject | None:
    if not code:
        return None
    index = await shared(time_projects_by_code(ctx))
    return cast(TimeProject | None, index.get(normal_key(code)))


def time_project_if_read(ctx: RequestContext, code: str | None) -> tuple[bool, TimeProject | None]:
    """`time_project(ctx, code)` without waiting, once the listing is read (it is started
    if it has not been, as `time_project` would)."""
    if not code:
        return True, None
    read, index = settled(time_projects_by_code(ctx))
    if not read:
        return False, None
    return True, cast(TimeProject | None, index.get(normal_key(code)))


def time_projects_by_code(ctx: RequestContext) -> asyncio.Future[Mapping[str, Record]]:
    """The request's read of every TIME project by its code (Harvest cannot filter
    projects by code), started now if it has not been."""
    return ctx.loaders.index_read(TIME, "project", "code")


# --- people -----------------------------------------------------------------------------


async def resource(ctx: RequestContext, worker_id: str | None) -> ResourceView | None:
    worker = await by_id(ctx, HCM, "worker", worker_id, Worker)
    return ResourceView(worker.id, worker) if worker is not None else None


def resource_if_read(
    ctx: RequestContext, worker_id: str | None
) -> tuple[bool, ResourceView | None]:
    """`resource(ctx, worker_id)` without waiting, when this request has read the worker."""
    if not worker_id:
        return True, None
    read, worker = ctx.loaders.peek(HCM, "worker", worker_id)
    if not read:
        return False, None
    return True, ResourceView(worker.id, worker) if worker is not None else None


async def resource_of_psa_user(ctx: RequestContext, user_id: str | None) -> ResourceView | None:
    user = await by_id(ctx, PSA, "user", user_id, PsaUser)
    return await _resource_of(ctx, user)


async def resource_of_time_user(ctx: RequestContext, user_id: str | None) -> ResourceView | None:
    user = await by_id(ctx, TIME, "user", user_id, TimeUser)
    if user is None or not user.email:
        return None
    index = await ctx.loaders.index(PSA, "user", "email")
    return await _resource_of(ctx, cast(PsaUser | None, index.get(normal_key(user.email))))


async def resource_by_key(ctx: RequestContext, key: str) -> ResourceView | None:
    if key.startswith(PSA_PREFIX):
        return await resource_of_psa_user(ctx, key.removeprefix(PSA_PREFIX))
    return await resource(ctx, key)


async def read_people_of_psa_users(ctx: RequestContext, user_ids: Iterable[str | None]) -> None:
    """The PSA users `user_ids` and their HCM workers, a level each for all of them (see
    `prefetch_clients`)."""
    users = await read_by_id(ctx, PSA, "user", user_ids, PsaUser)
    await read_by_id(ctx, HCM, "worker", (user.employee_number for user in users), Worker)


def resource_of_psa_user_if_read(
    ctx: RequestContext, user_id: str | None
) -> tuple[bool, ResourceView | None]:
    """`resource_of_psa_user(ctx, user_id)` without waiting, when this request has read
    the user and its worker; (False, None) otherwise."""
    if not user_id:
        return True, None
    read, user = ctx.loaders.peek(PSA, "user", user_id)
    if not read or user is None:
        return read, None
    worker = None
    if user.employee_number:
        read, worker = ctx.loaders.peek(HCM, "worker", user.employee_number)
    return (True, _person(user, worker)) if read else (False, None)


async def _resource_of(ctx: RequestContext, user: PsaUser | None) -> ResourceView | None:
    if user is None:
        return None
    return _person(user, await by_id(ctx, HCM, "worker", user.employee_number, Worker))


def _person(user: PsaUser, worker: Worker | None) -> ResourceView:
    if worker is not None:
        return ResourceView(worker.id, worker, user)
    return ResourceView(PSA_PREFIX + user.id, None, user)


async def psa_user(ctx: RequestContext, view: ResourceView) -> PsaUser | None:
    if view.psa_user is not None or view.worker is None:
        return view.psa_user
    index = await ctx.loaders.index(PSA, "user", "employee_number")
    return cast(PsaUser | None, index.get(normal_key(view.worker.id)))


async def time_user(ctx: RequestContext, view: ResourceView) -> TimeUser | None:
    if not _email(view):
        return None
    return time_user_in(await shared(time_users_by_email(ctx)), view)


def time_user_if_read(ctx: RequestContext, view: ResourceView) -> tuple[bool, TimeUser | None]:
    """`time_user(ctx, view)` without waiting, when this request has read TIME's users."""
    if not _email(view):
        return True, None
    read, index = settled(time_users_by_email(ctx))
    return (True, time_user_in(index, view)) if read else (False, None)


def time_user_in(index: Mapping[str, Record], view: ResourceView) -> TimeUser | None:
    """The person's TIME user in TIME's users by work email."""
    email = _email(view)
    return cast(TimeUser | None, index.get(normal_key(email))) if email else None


def _email(view: ResourceView) -> str | None:
    email = view.worker.email if view.worker is not None else None
    if not email and view.psa_user is not None:
        email = view.psa_user.email
    return email


def time_users_by_email(ctx: RequestContext) -> asyncio.Future[Mapping[str, Record]]:
    """The request's read of every TIME user by work email (how people are matched to
    TIME), started now if it has not been."""
    return ctx.loaders.index_read(TIME, "user", "email")
