"""The ERP system, NetSuite-shaped.

Connector side: `connector` (ErpConnector), `client` (auth, error classification),
`queries` (the SuiteQL it sends), `mapping` (rows <-> canonical records), `cursors`.
Sandbox side: `sandbox` (routes), `catalog` (record types), `store` (records and their
SuiteQL tables), `ledger` (business rules), `seed` (the world as NetSuite records), and
`suiteql`, the query-language subset the sandbox runs.
"""

from sources.system import SystemSpec

# NetSuite: numeric internal ids; limit up to 1000.
SYSTEM = SystemSpec(
    name="ERP",
    package=__name__,
    page_max=1000,
    batch_max=1000,
    id_format=r"[0-9]{1,19}",
    auth_kind="bearer",
    default_poll_interval={
        "invoice": 10.0,
        "time_posting": 15.0,
    },
    webhook_entities={
        "customer": "customer",
        "job": "job",
        "billing_schedule": "billing_schedule",
        "invoice": "invoice",
        "payment": "payment",
        "time_posting": "time_posting",
    },
)
