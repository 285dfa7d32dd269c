"""DUPLICATE_CUSTOMER: one client with two ERP customers, so its invoices and receivables
are split. Two ways it happens:

- two customers carry the same CRM account (the ERP's external id);
- a customer keyed in by hand (no external id) under a name that, punctuation and case
  aside, is a linked customer's ("Apex Bank, Inc" for "Apex Bank Inc."), or is it with a
  legal suffix added ("Apex Bank Inc" for "Apex Bank").

Names alone are not enough the other way round: "Summit Manufacturing AG" and "Summit
Manufacturing Inc." are two firms, so a suffix is never dropped from both sides.
"""

from __future__ import annotations

import re
from collections import defaultdict

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Customer, SourceSystem

KIND = ExceptionKind.DUPLICATE_CUSTOMER
LEGAL_SUFFIXES = frozenset({"inc", "ltd", "plc", "ag", "group", "holdings", "partners", "llc"})


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", name.lower()))


def _without_suffix(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tokens[:-1] if len(tokens) > 1 and tokens[-1] in LEGAL_SUFFIXES else tokens


def duplicates(customers: list[Customer]) -> dict[str, list[Customer]]:
    """The linked customer's CRM account -> every ERP customer of that client, where
    there is more than one."""
    by_account: dict[str, list[Customer]] = defaultdict(list)
    by_name: dict[tuple[str, ...], str] = {}
    for customer in customers:
        if customer.crm_account_id:
            by_account[customer.crm_account_id].append(customer)
            by_name.setdefault(_tokens(customer.name), customer.crm_account_id)
    for customer in customers:
        if customer.crm_account_id:
            continue
        tokens = _tokens(customer.name)
        account = by_name.get(tokens) or by_name.get(_without_suffix(tokens))
        if account is not None:
            by_account[account].append(customer)
    return {account: same for account, same in by_account.items() if len(same) > 1}


async def detect(ctx: ScanContext) -> list[Finding]:
    customers = [
        c for c in await ctx.view.listing(SourceSystem.ERP, "customer") if isinstance(c, Customer)
    ]
    found = []
    for account, same in duplicates(customers).items():
        same.sort(key=lambda c: (c.crm_account_id is None, int(c.id) if c.id.isdigit() else 0))
        found.append(
            Finding(
                KIND,
                "Client",
                account,
                SourceSystem.ERP,
                f"{same[0].name} has {len(same)} ERP customers "
                f"({', '.join(c.id for c in same)}) for one client",
                f"Merge ERP customer{'s' if len(same) > 2 else ''} "
                f"{', '.join(c.id for c in same[1:])} into {same[0].id}",
                None,
                None,
                max((c.modified_at for c in same if c.modified_at), default=None),
            )
        )
    return found


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.ERP, "customer")}),
    needs=frozenset({SourceSystem.ERP}),
)
