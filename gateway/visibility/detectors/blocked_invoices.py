"""INVOICE_BLOCKED: an ERP invoice held by a data-quality problem. At risk: its amount."""

from __future__ import annotations

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Invoice, SourceSystem

KIND = ExceptionKind.INVOICE_BLOCKED


async def detect(ctx: ScanContext) -> list[Finding]:
    invoices = await ctx.view.listing(SourceSystem.ERP, "invoice", {"status": "BLOCKED"})
    return [
        Finding(
            KIND,
            "Invoice",
            invoice.id,
            SourceSystem.ERP,
            f"Invoice {invoice.number or invoice.id} is blocked: {invoice.blocked_reason or '?'}",
            f"Fix {invoice.blocked_reason or 'the data problem'} and release the invoice",
            invoice.amount,
            invoice.currency,
            invoice.modified_at,
        )
        for invoice in invoices
        if isinstance(invoice, Invoice) and invoice.status == "BLOCKED"
    ]


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.ERP, "invoice")}),
    needs=frozenset({SourceSystem.ERP}),
)
