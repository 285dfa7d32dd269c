"""The queue's order: money at risk first, then how long it has waited.

    priority = base(kind) + 10 * log10(1 + revenueAtRisk) + min(age in days, 90) / 3

so $1,000 at risk weighs 30, $1,000,000 weighs 60, and three months of waiting 30. A
source down or a parked workflow stops everything behind it, so their kinds start higher.
Amounts are compared as numbers whatever their currency (the gateway keeps no rates).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from gateway.visibility.findings import ExceptionKind

BASE: dict[ExceptionKind, int] = {
    ExceptionKind.SOURCE_DEGRADED: 50,
    ExceptionKind.WORKFLOW_NEEDS_ATTENTION: 30,
    ExceptionKind.RESOURCE_CONFLICT: 10,
    ExceptionKind.STAFFING_REQUEST_UNASSIGNED: 10,
    ExceptionKind.DUPLICATE_CUSTOMER: 10,
}
MAX_AGE_DAYS = 90


def priority(
    kind: ExceptionKind,
    amount_at_risk: Decimal | None,
    since: dt.datetime | None,
    now: dt.datetime,
) -> int:
    money = 10 * math.log10(1 + max(float(amount_at_risk or 0), 0.0))
    age_days = max((now - since).total_seconds() / 86_400, 0.0) if since else 0.0
    return round(BASE.get(kind, 0) + money + min(age_days, MAX_AGE_DAYS) / 3)
