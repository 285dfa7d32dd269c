"""Who may use the exceptions queue, over real HTTP with the identity provider's tokens:
the firm's staff read and work it; a client portal user and a consultant are refused
(FORBIDDEN) whatever they ask of it; an acknowledgement and a remedy are recorded under
the caller's `sub`, with its roles."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import RunningGateway
from sandboxes.world.model import World
from tests.e2e.visibility.conftest import Visibility, exception_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("seeded_world_after"),
]

QUEUE = "query { exceptions(first: 10) { totalCount edges { node { id } } } }"
ACKNOWLEDGE = """
mutation($id: ID!) { acknowledgeException(id: $id, note: "seen") { id status acknowledgedAt } }
"""
REMEDY = """
mutation($id: ID!, $key: String!) { remediateException(id: $id, idempotencyKey: $key) { id } }
"""
AUDIT = """
query($subject: String) {
  auditLog(subject: $subject, objectType: "BusinessException", first: 100) {
    subject roles action objectId
  }
}
"""


def _blocked_invoice(world: World) -> str:
    """The ERP id of a seeded blocked invoice: an open exception from the first scan."""
    return world.invoices[min(world.defects.blocked_invoices)].erp_id


def _persona(role: str, world: World) -> dict[str, str]:
    """The token bindings of a portal user (its client) or a consultant (its resource)."""
    if role == "client":
        return {"client": ids.encode("Client", world.clients[0].crm_id)}
    return {"resource": ids.encode("Resource", world.people[0].hcm_id)}


async def _ask(url: str, headers: dict[str, str], query: str, **variables: Any) -> dict[str, Any]:
    """The whole GraphQL response body of one POST, as the token in `headers`."""
    async with httpx.AsyncClient(timeout=120, headers=headers) as http:
        response = await http.post(url, json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


@pytest.mark.parametrize("role", ["client", "consultant"])
async def test_clients_and_consultants_are_refused_the_queue_and_its_mutations(
    role: str,
    running_gateway: RunningGateway,
    identity: Identity,
    world: World,
) -> None:
    headers = identity.headers_for(role, **_persona(role, world))
    target = exception_id("INVOICE_BLOCKED", _blocked_invoice(world))

    queue = await _ask(running_gateway.graphql, headers, QUEUE)
    acknowledged = await _ask(running_gateway.graphql, headers, ACKNOWLEDGE, id=target)
    remedied = await _ask(running_gateway.graphql, headers, REMEDY, id=target, key=uuid.uuid4().hex)

    for body in (queue, acknowledged, remedied):
        assert body["data"] is None, body
        assert _codes(body) == ["FORBIDDEN"], body


async def test_an_admins_acknowledgement_is_recorded_under_its_sub_and_roles(
    visibility: Visibility,
    running_gateway: RunningGateway,
    identity: Identity,
    world: World,
) -> None:
    erp_id = _blocked_invoice(world)
    found = await visibility.opened("INVOICE_BLOCKED", erp_id)
    sub = f"ops-lead-{uuid.uuid4().hex[:8]}@firm.example"
    admin = {"Authorization": f"Bearer {identity.token_for('admin', sub=sub)}"}

    body = await _ask(running_gateway.graphql, admin, ACKNOWLEDGE, id=found["id"])
    assert body.get("errors") is None, body
    assert body["data"]["acknowledgeException"]["status"] == "ACKNOWLEDGED"

    audit = (await visibility.gql(AUDIT, subject=sub))["auditLog"]
    assert [(e["subject"], e["roles"], e["action"], e["objectId"]) for e in audit] == [
        (sub, ["admin"], "exception.acknowledge", f"INVOICE_BLOCKED:{erp_id}")
    ]
