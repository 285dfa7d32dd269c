"""Clients, their contacts, and the opportunities the firm pursued with them."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sandboxes.world import ids
from sandboxes.world.clock import Clock
from sandboxes.world.model import Client, Contact, Opportunity
from sandboxes.world.names import (
    COMPANY_CORES,
    COMPANY_PREFIXES,
    COMPANY_SUFFIXES,
    CONTRACT_TYPE_WEIGHTS,
    CONTRACT_TYPES,
    CREDIT_STATUS_WEIGHTS,
    CREDIT_STATUSES,
    FIRST_NAMES,
    LAST_NAMES,
    OFFERINGS,
    PAYMENT_TERM_WEIGHTS,
    PAYMENT_TERMS,
    PRACTICES,
    REGION_CURRENCIES,
    REGION_WEIGHTS,
    REGIONS,
)
from sources.crm.ids import make_id

OPEN_STAGES = ("PROSPECTING", "QUALIFICATION", "PROPOSAL", "NEGOTIATION")
WON, LOST = "CLOSED_WON", "CLOSED_LOST"
# Won work starts this many days after the deal closes.
START_AFTER_CLOSE = (7, 45)
# How far back closed deals go.
HISTORY_DAYS = 850


def build_clients(
    rng: random.Random,
    count: int,
    owners: Sequence[str],
    duplicate_count: int,
    clock: Clock,
) -> tuple[tuple[Client, ...], frozenset[int]]:
    """`count` clients, `duplicate_count` of them (chosen at random) with a second ERP customer.

    Returns the clients and the keys of those with a duplicate customer.
    """
    names = _company_names(rng, count)
    duplicates = sorted(rng.sample(range(count), min(duplicate_count, count)))
    duplicate_ids = {
        key: ids.numeric(ids.ERP_CUSTOMER, count + i) for i, key in enumerate(duplicates)
    }
    clients = []
    for key, (name, industry) in enumerate(names):
        region = rng.choices(REGIONS, REGION_WEIGHTS)[0]
        currencies, weights = REGION_CURRENCIES[region]
        clients.append(
            Client(
                key=key,
                name=name,
                industry=industry,
                region=region,
                owner=rng.choice(owners),
                crm_id=make_id("001", ids.crm_number(key)),
                erp_id=ids.numeric(ids.ERP_CUSTOMER, key),
                payment_terms=rng.choices(PAYMENT_TERMS, PAYMENT_TERM_WEIGHTS)[0][0],
                credit_status=rng.choices(CREDIT_STATUSES, CREDIT_STATUS_WEIGHTS)[0],
                currency=rng.choices(currencies, weights)[0],
                modified_at=_recently(rng, clock),
                duplicate_erp_id=duplicate_ids.get(key),
            )
        )
    return tuple(clients), frozenset(duplicates)


def _recently(rng: random.Random, clock: Clock) -> datetime:
    return clock.moment_between(rng, clock.today - timedelta(days=720), clock.today)


def _company_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Unique (name, industry) pairs; past the list's combinations, names get a number."""
    combos = [
        (prefix, core, suffix)
        for prefix in COMPANY_PREFIXES
        for core in COMPANY_CORES
        for suffix in COMPANY_SUFFIXES
    ]
    picked = rng.sample(combos, min(count, len(combos)))
    picked += [rng.choice(combos) for _ in range(count - len(picked))]
    named = []
    for i, (prefix, core, suffix) in enumerate(picked):
        name = " ".join(part for part in (prefix, core, suffix) if part)
        if i >= len(combos):
            name = f"{name} {i // len(combos) + 1}"
        named.append((name, COMPANY_CORES[core]))
    return named


def build_contacts(rng: random.Random, clients: Sequence[Client]) -> tuple[Contact, ...]:
    """One to four contacts per client, with emails at the client's domain."""
    contacts: list[Contact] = []
    for client in clients:
        domain = _domain(client.name)
        taken: set[str] = set()
        for _ in range(rng.randint(1, 4)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{first}.{last}".lower()
            if local in taken:
                continue
            taken.add(local)
            key = len(contacts)
            contacts.append(
                Contact(
                    key=key,
                    client_key=client.key,
                    name=f"{first} {last}",
                    email=f"{local}@{domain}",
                    crm_id=make_id("003", ids.crm_number(key)),
                )
            )
    return tuple(contacts)


def _domain(company: str) -> str:
    # Company names are unique, and so are their words once punctuation is dropped.
    words = [w for w in company.lower().replace(".", "").split() if w.isalnum()]
    return "-".join(words) + ".example"


def build_opportunities(
    rng: random.Random,
    clients: Sequence[Client],
    won: int,
    lost: int,
    open_: int,
    clock: Clock,
) -> tuple[Opportunity, ...]:
    """The pipeline: `won` closed-won (each becomes a project), `lost` lost, `open_` open.

    Every client has at least one opportunity; bigger clients have more. `project_key` is
    left unset here: it is filled in once projects exist.
    """
    stages = [WON] * won + [LOST] * lost + [rng.choice(OPEN_STAGES) for _ in range(open_)]
    rng.shuffle(stages)
    client_keys = _clients_for(rng, len(stages), len(clients))
    seen_offerings: dict[tuple[int, str], int] = {}
    opportunities = []
    for key, (stage, client_key) in enumerate(zip(stages, client_keys, strict=True)):
        client = clients[client_key]
        practice = rng.choice(PRACTICES)
        offering = rng.choice(OFFERINGS[practice])
        phase = seen_offerings.get((client_key, offering), 0) + 1
        seen_offerings[(client_key, offering)] = phase
        name = f"{client.name} - {offering}" + (f" Phase {phase}" if phase > 1 else "")
        if stage in (WON, LOST):
            close_date = clock.today - timedelta(days=rng.randint(1, HISTORY_DAYS))
            modified_at = clock.moment_between(rng, close_date, close_date + timedelta(days=3))
        else:
            close_date = clock.today + timedelta(days=rng.randint(7, 180))
            modified_at = clock.moment_between(rng, clock.today - timedelta(days=60), clock.today)
        opportunities.append(
            Opportunity(
                key=key,
                client_key=client_key,
                name=name,
                stage=stage,
                amount=_deal_size(rng),
                currency=client.currency,
                close_date=close_date,
                practice=practice,
                region=client.region,
                contract_type=rng.choices(CONTRACT_TYPES, CONTRACT_TYPE_WEIGHTS)[0],
                crm_id=make_id("006", ids.crm_number(key)),
                modified_at=modified_at,
            )
        )
    return tuple(opportunities)


def _clients_for(rng: random.Random, count: int, client_count: int) -> list[int]:
    # Each client once, then the rest weighted by a long-tailed client size.
    first = rng.sample(range(client_count), min(count, client_count))
    sizes = [rng.lognormvariate(0, 0.8) for _ in range(client_count)]
    rest = rng.choices(range(client_count), sizes, k=count - len(first))
    keys = first + rest
    rng.shuffle(keys)
    return keys


def _deal_size(rng: random.Random) -> Decimal:
    amount = rng.lognormvariate(math.log(350_000), 0.7)
    return Decimal(int(round(min(max(amount, 40_000), 5_000_000), -3)))
