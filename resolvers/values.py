"""Small values the schema shows as they are: money, references into each system."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sources.records import Record, SourceSystem


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class SystemRef:
    system: SourceSystem
    id: str
    url: str | None


def money(amount: Decimal | float | None, currency: str | None) -> Money | None:
    if amount is None:
        return None
    return Money(amount if isinstance(amount, Decimal) else Decimal(str(amount)), currency or "USD")


def ref(system: SourceSystem, record: Record) -> SystemRef:
    return SystemRef(system, record.id, record.url)
