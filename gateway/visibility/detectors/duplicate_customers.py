"""DUPLICATE_CUSTOMER: two or more ERP customers carrying the same CRM account (the ERP's
external id), so one client's invoices and receivables are split."""

from __future__ import annotations

from collections import defaultdict

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Customer, SourceSystem

KIND = ExceptionKind.DUPLICATE_CUSTOMER


async def detect(ctx: ScanContext) -> list[Finding]:
    customers = await ctx.view.listing(SourceSystem.ERP, "customer")
    by_account: dict[str, list[Customer]] = defaultdict(list)
    for customer in customers:
        if isinstance(customer, Customer) and customer.crm_account_id:
            by_account[customer.crm_account_id].append(customer)
    found = []
    for account, same in by_account.items():
        if len(same) < 2:
            continue
        same.sort(key=lambda c: int(c.id) if c.id.isdigit() else 0)
        found.append(
            Finding(
                KIND,
                "Client",
                account,
                SourceSystem.ERP,
                f"{same[0].name} has {len(same)} ERP customers "
                f"({', '.join(c.id for c in same)}) for one CRM account",
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
