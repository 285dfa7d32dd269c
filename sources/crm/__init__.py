from sources.system import SystemSpec

# Salesforce: 15- or 18-character alphanumeric record ids; batchSize up to 2000.
SYSTEM = SystemSpec(
    name="CRM",
    package=__name__,
    page_max=2000,
    batch_max=2000,
    id_format=r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?",
    auth_kind="oauth_client_credentials",
    default_poll_interval={
        "opportunity": 10.0,
    },
    webhook_entities={
        "opportunity": "opportunity",
        "account": "account",
        "contact": "contact",
    },
)
