"""A living demo: the firm keeps moving in the sandboxes, so a subscriber sees it move.

    await run_scenario({"crm": crm_settings, "psa": ..., ...}, interval_s=5.0)

Every `interval_s` the next of these happens, in turn, through each system's own API (the
connectors, as any other client of the vendor would call it):

- CRM   a deal in negotiation is won (and, to keep some in the pipeline, a new one opens);
- TIME  someone logs hours on an active project; later, logged hours are approved;
- PSA   the next open milestone of an active project is completed;
- ERP   an invoice is posted on a job; later, its customer pays it in full.

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
from typing import TypeVar

from sources.config import SourceSettings
from sources.connector import Connector
from sources.crm.connector import CrmConnector
from sources.erp.client import NetSuiteBearerAuth, classify
from sources.erp.connector import REST_PATH, ErpConnector
from sources.erp.mapping import InvoiceLine
from sources.errors import SourceError
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
        rng: random.Random | None = None,
    ) -> None:
        self._connectors = connectors
        self._payments = payments
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
        ]
        return [step for system, step in plan if system in self._connectors]

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
) -> None:
    """Keep the firm moving until cancelled: one step every `interval_s`, in turn.
    `settings_by_system` maps "crm", "psa", "time", "erp" to each sandbox's settings;
    `report` hears of each thing that happened (logged at INFO otherwise)."""
    connectors = {name: make_connector(name, s) for name, s in settings_by_system.items()}
    erp = settings_by_system.get("erp")
    payments = _payment_client(erp) if erp is not None else None
    firm = Firm(connectors, payments, rng=random.Random(seed))
    tell = report or log.info
    try:
        steps = firm.steps()
        turn = 0
        while steps:
            step = steps[turn % len(steps)]
            turn += 1
            try:
                happened = await step()
            except SourceError as error:
                log.info("scenario: %s skipped: %s", step.__name__, error)
            else:
                if happened:
                    tell(happened)
            await asyncio.sleep(interval_s)
    finally:
        await asyncio.gather(*(c.aclose() for c in connectors.values()))
        if payments is not None:
            await payments.aclose()
