"""TIME: a Harvest API v2-shaped time-and-expense system (its connector and its sandbox)."""

from sources.system import SystemSpec

# Harvest: numeric ids; per_page up to 2000.
SYSTEM = SystemSpec(
    name="TIME",
    package=__name__,
    page_max=2000,
    batch_max=2000,
    id_format=r"[0-9]{1,19}",
    auth_kind="token",
    default_poll_interval={
        "time_entry": 5.0,
    },
    webhook_entities={
        "time_entry": "time_entry",
        "expense": "expense",
        "user": "user",
        "project": "project",
    },
)
