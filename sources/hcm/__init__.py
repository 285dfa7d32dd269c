"""HCM: the Workday-shaped human-capital system (staffing v6 workers, refresh-token OAuth).

`sandbox` imitates the vendor; `connector` reads it. Workday"s REST API has no
batch-by-id and no modified-since, so the connector reads through a reference snapshot
and detects changes by diffing snapshots.
"""

from sources.system import SystemSpec

# Workday: 32-hex-digit Workday IDs (WIDs); limit up to 100.
SYSTEM = SystemSpec(
    name="HCM",
    package=__name__,
    page_max=100,
    batch_max=100,
    id_format=r"[0-9a-f]{32}",
    auth_kind="oauth_refresh_token",
    default_poll_interval={
        "worker": 300.0,
    },
    webhook_entities={
        "worker": "worker",
    },
)
