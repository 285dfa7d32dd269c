"""What an hour of someone's time bills at: the HCM bill rate, found for a TIME user by
work email (how TIME users and HCM workers match)."""

from __future__ import annotations

from decimal import Decimal

from gateway.visibility.detectors.base import ScanContext
from sources.errors import SourceError
from sources.records import SourceSystem, TimeUser, Worker


async def bill_rates(ctx: ScanContext) -> dict[str, tuple[Decimal, str]]:
    """(rate, currency) by TIME user id; users without an HCM match are left out, and
    all of them while the HCM cannot be read (the amount is unknown, the finding is not)."""
    if not ctx.view.has(SourceSystem.HCM):
        return {}
    try:
        workers = await ctx.view.listing(SourceSystem.HCM, "worker")
        users = await ctx.view.listing(SourceSystem.TIME, "user")
    except SourceError:
        return {}
    by_email = {
        w.email.lower(): w for w in workers if isinstance(w, Worker) and w.email and w.bill_rate
    }
    rates = {}
    for user in users:
        if isinstance(user, TimeUser) and (worker := by_email.get(user.email.lower())):
            assert worker.bill_rate is not None
            rates[user.id] = (worker.bill_rate, worker.currency)
    return rates


def amount(rates: dict[str, tuple[Decimal, str]], user_id: str, hours: float) -> Decimal | None:
    rate = rates.get(user_id)
    return (rate[0] * Decimal(str(hours))).quantize(Decimal("0.01")) if rate else None


def currency(rates: dict[str, tuple[Decimal, str]], user_id: str) -> str | None:
    rate = rates.get(user_id)
    return rate[1] if rate else None
