"""The world's recorded defects as a gateway should report them: for each business
exception kind of the schema contract, the native ids of the subjects it is about, in the
system the exception names (`World.defects` holds world keys)."""

from __future__ import annotations

from sandboxes.world.model import World


def defect_subjects(world: World) -> dict[str, frozenset[str]]:
    found = world.defects
    return {
        "PROJECT_MISSING_FINANCE_CODE": frozenset(
            world.projects[k].psa_id for k in found.projects_without_finance_code
        ),
        "CONTRACT_WITHOUT_BILLING_SCHEDULE": frozenset(
            world.projects[k].psa_id for k in found.projects_without_billing_schedule
        ),
        "APPROVED_TIME_ON_CLOSED_PROJECT": frozenset(
            world.time_entries[k].time_id for k in found.approved_time_on_closed_project
        ),
        "DUPLICATE_CUSTOMER": frozenset(world.clients[k].crm_id for k in found.duplicate_customers),
        "INVOICE_BLOCKED": frozenset(world.invoices[k].erp_id for k in found.blocked_invoices),
        "RESOURCE_CONFLICT": frozenset(world.people[k].hcm_id for k in found.overbooked_people),
    }


def expected_exception_ids(world: World) -> frozenset[str]:
    """ "KIND:subject" for every recorded defect: the ids the gateway's monitor gives them."""
    return frozenset(
        f"{kind}:{subject}"
        for kind, subjects in defect_subjects(world).items()
        for subject in subjects
    )
