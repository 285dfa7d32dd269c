"""Native ids the generator hands out: numeric ranges per system and record type, Workday WIDs.

Each numeric range starts far enough from the next that a world up to `MAX_SCALE` never
runs one range into another, so ids stay unique within each system.
"""

from __future__ import annotations

import random

MAX_SCALE = 20.0

# PSA (Kantata)
PSA_WORKSPACE = 1_000_001
PSA_USER = 3_000_001
PSA_STORY = 5_000_001
PSA_PARTICIPATION = 7_000_001
PSA_STAFFING_REQUEST = 8_000_001

# ERP (NetSuite); the legal entities are 1..4.
ERP_CUSTOMER = 101
ERP_JOB = 20_001
ERP_BILLING_SCHEDULE = 40_001
ERP_INVOICE = 600_001
ERP_PAYMENT = 900_001
ERP_TIME_POSTING = 10_000_001

# TIME (Harvest)
TIME_USER = 4_000_001
TIME_PROJECT = 14_000_001
TIME_EXPENSE = 500_000_001
TIME_ENTRY = 900_000_001

# CRM (Salesforce): the number fed to `make_id`, spread out so ids do not look sequential.
CRM_BASE = 2_000_000_000
CRM_STRIDE = 104_729


def numeric(first: int, index: int) -> str:
    return str(first + index)


def crm_number(index: int) -> int:
    return CRM_BASE + index * CRM_STRIDE


def workday_id(rng: random.Random, taken: set[str]) -> str:
    """A fresh 32-hex-digit Workday ID, drawn from `rng` and added to `taken`."""
    while True:
        wid = f"{rng.getrandbits(128):032x}"
        if wid not in taken:
            taken.add(wid)
            return wid
