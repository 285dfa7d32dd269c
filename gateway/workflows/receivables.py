"""Invoice posted or paid in the ERP: the project's billed and collected figures refresh.

    project (ERP)

The CRM account's receivables are not written back: the CRM has no field for them (the
gateway serves `Client.receivables` from the ERP instead).

Change capture has already dropped the cached invoice and the aggregates built on it;
this workflow names the project the invoice bills (its result), so `projectUpdated`
subscribers of that project hear of it when the workflow finishes. The business key is
the invoice and the status it reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from gateway.workflows.business import BusinessError
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.keys import BusinessKey
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.values import money
from sources.records import Customer, Invoice, Job

KIND = "refresh_receivables"


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    return BusinessKey(KIND, f"{input['invoice_id']}:{input['status']}")


async def project(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    invoice_id = ctx.input["invoice_id"]
    invoice = (await systems.erp.get_many("invoice", [invoice_id]))[0]
    if not isinstance(invoice, Invoice):
        raise BusinessError("UNKNOWN_INVOICE", f"the ERP has no invoice {invoice_id}")
    job = (await systems.erp.get_many("job", [invoice.job_id]))[0] if invoice.job_id else None
    customer = (await systems.erp.get_many("customer", [invoice.customer_id]))[0]
    receivables = await systems.erp.receivables([invoice.customer_id])
    return {
        "invoice_id": invoice.id,
        "project_id": job.psa_project_id if isinstance(job, Job) else None,
        "crm_account_id": customer.crm_account_id if isinstance(customer, Customer) else None,
        "receivables": money(receivables.get(invoice.customer_id)),
    }


def _result(outputs: Mapping[str, Any]) -> dict[str, str] | None:
    project_id = outputs["project"].get("project_id")
    return {"type": "Project", "key": project_id} if project_id else None


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    return WorkflowDefinition(
        KIND,
        steps=[
            Step("project", partial(project, systems), system="ERP", retry=retry),
        ],
        on_failure=OnFailure.PARK,
        result=_result,
        business_key=business_key,
    )
