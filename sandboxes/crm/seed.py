"""The CRM's slice of the world, as Account, Contact and Opportunity rows.

Every seeded record carries `Psgraph_Key__c` (e.g. "opportunity-17", the world key), the
external id integrations upsert by. An opportunity that already has a project carries the
PSA workspace id in `PSA_Project_Id__c`, as quote-to-project would have written it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sandboxes.crm.org import Org
from sandboxes.crm.sobjects import ACCOUNT, CONTACT, OPPORTUNITY
from sandboxes.world.model import World
from sources.crm.formats import CONTRACT_TYPE_LABELS, STAGE_LABELS


def seed_org(world: World, now: Callable[[], datetime], latest: datetime) -> Org:
    """An org holding the world's CRM records, none modified later than `latest`."""
    org = Org(now)

    def stamp(moment: datetime) -> datetime:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        moment = min(moment, latest)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    for client in world.clients:
        modified = stamp(client.modified_at)
        org.load(
            ACCOUNT,
            {
                "Id": client.crm_id,
                "Name": client.name,
                "Industry": client.industry,
                "Region__c": client.region,
                "Account_Owner__c": client.owner,
                "CurrencyIsoCode": client.currency,
                "Psgraph_Key__c": f"client-{client.key}",
                "CreatedDate": modified,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            },
        )
    for contact in world.contacts:
        first, _, last = contact.name.rpartition(" ")
        client = world.clients[contact.client_key]
        modified = stamp(client.modified_at)
        org.load(
            CONTACT,
            {
                "Id": contact.crm_id,
                "AccountId": client.crm_id,
                "FirstName": first or None,
                "LastName": last,
                "Email": contact.email,
                "Psgraph_Key__c": f"contact-{contact.key}",
                "CreatedDate": modified,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            },
        )
    for opportunity in world.opportunities:
        modified = stamp(opportunity.modified_at)
        project = (
            world.projects[opportunity.project_key] if opportunity.project_key is not None else None
        )
        org.load(
            OPPORTUNITY,
            {
                "Id": opportunity.crm_id,
                "AccountId": world.clients[opportunity.client_key].crm_id,
                "Name": opportunity.name,
                "StageName": STAGE_LABELS[opportunity.stage],
                "Amount": opportunity.amount,
                "CurrencyIsoCode": opportunity.currency,
                "CloseDate": opportunity.close_date,
                "Practice__c": opportunity.practice,
                "Region__c": opportunity.region,
                "Contract_Type__c": CONTRACT_TYPE_LABELS[opportunity.contract_type],
                "PSA_Project_Id__c": project.psa_id if project else None,
                "Psgraph_Key__c": f"opportunity-{opportunity.key}",
                "CreatedDate": modified,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            },
        )
    return org
