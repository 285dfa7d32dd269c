"""PSA: a Kantata OX-shaped system (workspaces, stories, participations, resource requests).

`connector` speaks Kantata"s API (`only=` id batches, keyed result maps, page numbers, the
subscribed-events pull feed) and returns canonical records; `mapping` turns Kantata"s
records into them. `sandbox` serves the world"s PSA slice in Kantata"s shapes.
"""

from sources.system import SystemSpec

# Kantata: numeric ids; per_page up to 200.
SYSTEM = SystemSpec(
    name="PSA",
    package=__name__,
    page_max=200,
    batch_max=200,
    id_format=r"[0-9]{1,19}",
    auth_kind="bearer",
    default_poll_interval={
        "project": 5.0,
        "milestone": 5.0,
        "staffing_request": 10.0,
    },
    webhook_entities={
        "workspace": "project",
        "story": "milestone",
        "participation": "assignment",
        "resource_request": "staffing_request",
        "user": "user",
    },
)
