"""Win an open deal in the CRM through the CRM's own API, as a salesperson would.

This is what makes the README's mutation example real in the demo: the gateway sees the
opportunity close (change capture), starts quote-to-project by itself, and the mutation
for the same opportunity returns that workflow instead of starting another (the
opportunity is the workflow's business key, whatever idempotency key a caller sends).
"""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.ids import encode
from sources.config import SourceSettings
from sources.crm.connector import CrmConnector
from sources.records import Opportunity


@dataclass(frozen=True)
class WonDeal:
    name: str
    native_id: str

    @property
    def global_id(self) -> str:
        """The id the gateway gives the opportunity (its `Opportunity.id`)."""
        return encode("Opportunity", self.native_id)


class NoOpenDealError(LookupError):
    pass


async def win_open_deal(crm: SourceSettings) -> WonDeal:
    """Close-won the first open deal in negotiation (lowest id: the same one for the same
    world, so a demo script can be repeated)."""
    async with CrmConnector(crm) as connector:
        page = await connector.list("opportunity", {"stage": "NEGOTIATION"}, page_size=200)
        deals = sorted(
            (deal for deal in page.items if isinstance(deal, Opportunity)), key=lambda d: d.id
        )
        if not deals:
            raise NoOpenDealError("no opportunity in negotiation in the CRM")
        deal = deals[0]
        await connector.close_opportunity_won(deal.id)
    return WonDeal(deal.name, deal.id)
