"""Step inputs and outputs are stored as JSON: dates as ISO strings, money as strings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def date_of(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def decimal_of(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None
