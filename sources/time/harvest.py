"""Facts of Harvest API v2 that both the connector and the sandbox rely on."""

from __future__ import annotations

from sources.time import SYSTEM

API_PREFIX = "/v2"
MAX_PER_PAGE = SYSTEM.page_max  # also the default; a larger per_page is a 422
ACCOUNT_HEADER = "Harvest-Account-Id"

# Harvest's general API limit, per token. (Its reports API allows 100 per 15 minutes.)
RATE_LIMIT_REQUESTS = 100
RATE_LIMIT_WINDOW_S = 15.0

APPROVAL_STATUSES = ("unsubmitted", "submitted", "approved", "rejected")

# The resource path and the key of its list in a page, per connector entity.
RESOURCES = {
    "time_entry": "time_entries",
    "expense": "expenses",
    "user": "users",
    "project": "projects",
}
