"""A living demo: the firm keeps moving in the sandboxes, so a subscriber sees it move.

    await run_scenario({"crm": crm_settings, "psa": ..., ...}, interval_s=5.0)

Every `interval_s` the next of these happens, in turn, through each system's own API (the
connectors, as any other client of the vendor would call it):

- CRM   a deal in negotiation is won (and, to keep some in the pipeline, a new one opens);
- TIME  someone logs hours on an active project; later, logged hours are approved;
- PSA   the next open milestone of an active project is completed;
- ERP   an invoice is posted on a job; later, its customer pays it in full;
- HCM   now and then someone's scheduled hours drop (so bookings run over capacity), and
  later go back;
- and, through the gateway's own `fillStaffingRequest` (when the scenario is given the
  gateway), a resource manager fills an open staffing request with its best free candidate.

Steps whose system is not given are skipped. A step the source refuses (a closed project,
an outage injected on purpose) is logged and the scenario carries on with the next one.
It runs until cancelled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from sources.config import SourceSettings
from sources.connector import Connector
from sources.crm.connector import CrmConnector
from sources.erp.client import NetSuiteBearerAuth, classify
from sources.erp.connector import REST_PATH, ErpConnector
from sources.erp.mapping import InvoiceLine
from sources.errors import SourceError
from sources.hcm.auth import WorkdayRefreshTokenAuth
from sources.hcm.connector import HcmConnector
from sources.hcm.errors import classify_workday
from sources.http import SourceClient
from sources.psa.connector import PsaConnector
from sources.records import (
    Account,
    Invoice,
    Job,
    Milestone,
    Opportunity,
    Project,
    SourceSystem,
    TimeProject,
    TimeUser,
    Worker,
)
from sources.registry import make_connector
from sources.time.connector import TimeConnector

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[str | None]]  # what happened, or None when nothing could
C = TypeVar("C", bound=Connector)
PIPELINE = 5  # deals kept in negotiation, so there is always one to win
PAGE = 200


class Firm:
    """The firm's people and customers, acting through the vendors' APIs."""

    def __init__(
        self,
        connectors: Mapping[str, Connector],
        payments: SourceClient | None = None,
        *,
        hr: SourceClient | None = None,
        gateway: Gateway | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._connectors = connectors
        self._payments = payments
        self._hr = hr
        self._gateway = gateway
        self._reduced: deque[tuple[str, float]] = deque()  # workers whose hours dropped
        self._rng = rng or random.Random()
        self._logged: deque[str] = deque()  # TIME entries logged here, awaiting approval
        self._posted: deque[Invoice] = deque()  # invoices posted here, awaiting payment
        self._people: list[TimeUser] = []
        self._time_projects: list[TimeProject] = []
        self._jobs: list[Job] = []

    def steps(self) -> list[Step]:
        """The steps this firm can take, in the order the scenario takes them."""
        plan: list[tuple[str, Step]] = [
            ("crm", self.win_a_deal),
            ("time", self.log_time),
            ("psa", self.complete_a_milestone),
            ("erp", self.post_an_invoice),
            ("time", self.approve_time),
            ("erp", self.receive_a_payment),
            ("psa", self.fill_a_request),
            ("hcm", self.change_someones_hours),
        ]
        return [step for system, step in plan if system in self._connectors]

    # --- staffing -------------------------------------------------------------------------

    async def fill_a_request(self) -> str | None:
        """A resource manager books the best free candidate of an open request, through
        the gateway, as a dashboard would."""
        if self._gateway is None:
            return None
        found = await self._gateway.query(_OPEN_REQUESTS)
        edges = (found.get("staffingRequests") or {}).get("edges", [])
        requests = [edge["node"] for edge in edges]
        self._rng.shuffle(requests)
        for request in requests:
            wanted = request["hoursPerWeek"] or 40.0
            free = [c for c in request["candidates"] if c["availableHoursPerWeek"] >= wanted]
            if free:
                person = free[0]["resource"]
                await self._gateway.query(
                    _FILL, id=request["id"], resource=person["id"], key=uuid.uuid4().hex
                )
                return f"PSA: {request['role']} request filled with {person['name']}"
        return None

    async def change_someones_hours(self) -> str | None:
        """Every other time, someone's scheduled hours drop to 16; the next time, the
        earliest such change is undone."""
        if self._hr is None:
            return None
        if self._reduced:
            worker_id, hours = self._reduced.popleft()
            await self._hr.request(
                "PATCH", f"/workers/{worker_id}", json={"scheduledWeeklyHours": hours}
            )
            return f"HCM: worker {worker_id} back to {hours:g} h/week"
        page = await self._connector("hcm", HcmConnector).list("worker", page_size=100)
        workers = [w for w in page.items if isinstance(w, Worker) and w.active]
        if not workers:
            return None
        worker = self._rng.choice(workers)
        await self._hr.request("PATCH", f"/workers/{worker.id}", json={"scheduledWeeklyHours": 16})
        self._reduced.append((worker.id, worker.weekly_capacity_hours))
        return f"HCM: {worker.name} now works 16 h/week"

    # --- CRM ------------------------------------------------------------------------------

    async def win_a_deal(self) -> str | None:
        crm = self._connector("crm", CrmConnector)
        page = await crm.list("opportunity", {"stage": "NEGOTIATION"}, page_size=PAGE)
        deals = [d for d in page.items if isinstance(d, Opportunity)]
        opened = await self._open_a_deal(crm) if len(deals) < PIPELINE else None
        if not deals:
            return opened
        deal = self._rng.choice(deals)
        await crm.close_opportunity_won(deal.id)
        won = f"CRM: {deal.name} won"
        return f"{opened}; {won}" if opened else won

    async def _open_a_deal(self, crm: CrmConnector) -> str | None:
        accounts = [a for a in (await crm.list("account", page_size=PAGE)).items]
        if not accounts:
            return None
        account = self._rng.choice(accounts)
        assert isinstance(account, Account)
        name = f"{account.name} - {self._rng.choice(_OFFERINGS)}"
        await crm.create_opportunity(
            {
                "account_id": account.id,
                "name": name,
                "stage": "NEGOTIATION",
                "close_date": dt.date.today() + dt.timedelta(days=30),
                "amount": Decimal(self._rng.randrange(40, 400) * 1000),
                "practice": self._rng.choice(_PRACTICES),
                "region": account.region,
                "contract_type": self._rng.choice(_CONTRACTS),
            }
        )
        return f"CRM: new deal in negotiation, {name}"

    # --- TIME -----------------------------------------------------------------------------

    async def log_time(self) -> str | None:
        time = self._connector("time", TimeConnector)
        if not self._people or not self._time_projects:
            users = await time.list("user", {"is_active": True}, page_size=PAGE)
            projects = await time.list("project", {"is_active": True}, page_size=PAGE)
            self._people = [u for u in users.items if isinstance(u, TimeUser)]
            self._time_projects = [p for p in projects.items if isinstance(p, TimeProject)]
        if not self._people or not self._time_projects:
            return None
        person = self._rng.choice(self._people)
        project = self._rng.choice(self._time_projects)
        hours = self._rng.randrange(2, 17) / 2
        entry = await time.create_time_entry(
            person.id,
            project.id,
            dt.date.today(),
            hours,
            True,
            "Delivery work",
            external_reference=f"scenario-{uuid.uuid4().hex}",
        )
        self._logged.append(entry.id)
        return f"TIME: {person.name} logged {hours:g} h on {project.code}"

    async def approve_time(self) -> str | None:
        time = self._connector("time", TimeConnector)
        if not self._logged:
            return None
        entry = self._logged.popleft()
        [approved] = await time.approve([entry])
        return f"TIME: {approved.hours:g} h on {approved.project_code} approved"

    # --- PSA ------------------------------------------------------------------------------

    async def complete_a_milestone(self) -> str | None:
        psa = self._connector("psa", PsaConnector)
        projects = await psa.list("project", {"status": "ACTIVE"}, page_size=PAGE)
        candidates = [p for p in projects.items if isinstance(p, Project)]
        self._rng.shuffle(candidates)
        for project in candidates[:5]:
            page = await psa.list("milestone", {"project_id": project.id}, page_size=PAGE)
            open_ = [m for m in page.items if isinstance(m, Milestone) and m.status == "OPEN"]
            if open_:
                milestone = min(open_, key=lambda m: m.due_date or dt.date.max)
                await psa.complete_milestone(milestone.id)
                return f"PSA: {project.code} milestone '{milestone.name}' completed"
        return None

    # --- ERP ------------------------------------------------------------------------------

    async def post_an_invoice(self) -> str | None:
        erp = self._connector("erp", ErpConnector)
        if not self._jobs:
            page = await erp.list("job", page_size=PAGE)
            self._jobs = [j for j in page.items if isinstance(j, Job)]
        if not self._jobs:
            return None
        job = self._rng.choice(self._jobs)
        amount = Decimal(self._rng.randrange(50, 400) * 100)
        invoice = await erp.create_invoice(
            job.id,
            job.customer_id,
            [InvoiceLine(amount=amount, description="Professional services")],
            idempotency_key=f"scenario-{uuid.uuid4().hex}",
        )
        self._posted.append(invoice)
        return f"ERP: invoice {invoice.number or invoice.id} posted for {amount} {invoice.currency}"

    async def receive_a_payment(self) -> str | None:
        if self._payments is None or not self._posted:
            return None
        invoice = self._posted.popleft()
        body = {
            "customer": {"id": invoice.customer_id},
            "payment": str(invoice.amount),
            "apply": {
                "items": [{"doc": {"id": invoice.id}, "apply": True, "amount": str(invoice.amount)}]
            },
        }
        # A customer's remittance, keyed so that a retried request records it once.
        await self._payments.request(
            "POST",
            "/record/v1/customerpayment",
            json=body,
            headers={"X-NetSuite-Idempotency-Key": f"scenario-payment-{invoice.id}"},
            idempotent=True,
        )
        return f"ERP: invoice {invoice.number or invoice.id} paid"

    def _connector(self, name: str, kind: type[C]) -> C:
        connector = self._connectors[name]
        assert isinstance(connector, kind)
        return connector


_OFFERINGS = ("Cloud migration", "Data platform", "Security review", "ERP rollout", "AI pilot")
_PRACTICES = ("Cloud", "Data & AI", "Security", "Enterprise Apps")
_CONTRACTS = ("FIXED_FEE", "TIME_AND_MATERIALS", "MILESTONE")


_OPEN_REQUESTS = """
{ staffingRequests(first: 20, status: OPEN) { edges { node {
  id role hoursPerWeek
  candidates(first: 3) { availableHoursPerWeek resource { id name } }
} } } }
"""
_FILL = """
mutation($id: ID!, $resource: ID!, $key: String!) {
  fillStaffingRequest(id: $id, resourceId: $resource, idempotencyKey: $key) { id }
}
"""


class Gateway:
    """The gateway's GraphQL endpoint, for the steps a person takes through psgraph;
    `headers` carry that person's bearer token (`sandboxes.harness.identity`)."""

    def __init__(self, url: str, headers: Mapping[str, str] | None = None) -> None:
        self._url = url
        self._http = httpx.AsyncClient(headers=dict(headers or {}), timeout=60)

    async def query(self, document: str, **variables: object) -> dict[str, Any]:
        try:
            payload = {"query": document, "variables": variables}
            response = await self._http.post(self._url, json=payload)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise GatewayUnavailableError(f"the gateway: {error!r}") from error
        if body.get("errors") or response.status_code != 200:
            raise GatewayUnavailableError(f"the gateway refused: {body.get('errors')}")
        data: dict[str, Any] = body.get("data") or {}
        return data

    async def aclose(self) -> None:
        await self._http.aclose()


class GatewayUnavailableError(Exception):
    """The gateway did not answer or refused: the step is skipped like a vendor's refusal."""


def _hr_client(settings: SourceSettings) -> SourceClient | None:
    """The HR team's own access to the HCM, for the changes Workday makes through its
    business processes (the sandbox takes their outcome as a PATCH)."""
    token, tenant = settings.credentials.token, settings.credentials.account_id
    if token is None or not tenant:
        return None
    root = settings.base_url.rstrip("/")
    api = settings.model_copy(update={"base_url": f"{root}/ccx/api/staffing/v6/{tenant}"})
    auth = WorkdayRefreshTokenAuth(f"{root}/ccx/oauth2/{tenant}/token", token.get_secret_value())
    return SourceClient(SourceSystem.HCM, api, auth=auth, classify=classify_workday)


def _payment_client(settings: SourceSettings) -> SourceClient | None:
    token = settings.credentials.token
    if token is None:
        return None
    rest = settings.model_copy(update={"base_url": settings.base_url.rstrip("/") + REST_PATH})
    return SourceClient(
        SourceSystem.ERP, rest, auth=NetSuiteBearerAuth(token.get_secret_value()), classify=classify
    )


async def run_scenario(
    settings_by_system: Mapping[str, SourceSettings],
    *,
    interval_s: float = 5.0,
    seed: int | None = None,
    report: Callable[[str], None] | None = None,
    gateway: Gateway | None = None,
) -> None:
    """Keep the firm moving until cancelled: one step every `interval_s`, in turn.
    `settings_by_system` maps "crm", "psa", "time", "erp" to each sandbox's settings;
    `report` hears of each thing that happened (logged at INFO otherwise)."""
    connectors = {name: make_connector(name, s) for name, s in settings_by_system.items()}
    erp = settings_by_system.get("erp")
    payments = _payment_client(erp) if erp is not None else None
    hcm = settings_by_system.get("hcm")
    hr = _hr_client(hcm) if hcm is not None else None
    firm = Firm(connectors, payments, hr=hr, gateway=gateway, rng=random.Random(seed))
    tell = report or log.info
    try:
        steps = firm.steps()
        turn = 0
        while steps:
            step = steps[turn % len(steps)]
            turn += 1
            try:
                happened = await step()
            except (SourceError, GatewayUnavailableError) as error:
                log.info("scenario: %s skipped: %s", step.__name__, error)
            else:
                if happened:
                    tell(happened)
            await asyncio.sleep(interval_s)
    finally:
        await asyncio.gather(*(c.aclose() for c in connectors.values()))
        for client in (payments, hr, gateway):
            if client is not None:
                await client.aclose()
