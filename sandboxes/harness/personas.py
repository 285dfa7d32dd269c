"""The demo's people: one persona per role, bound to real records of the demo world, with
a token for each from the identity provider the gateway trusts (`psgraph demo`)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import Settings
from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.world.model import World


@dataclass(frozen=True)
class Persona:
    role: str
    sub: str
    client: str | None = None  # a Client global id, for a portal user
    resource: str | None = None  # a Resource global id, for a consultant


def personas(world: World) -> list[Persona]:
    """A portal user of the first client with a project; a consultant on a project."""
    project = world.projects[0]
    client = next(c for c in world.clients if c.key == project.client_key)
    assignment = world.assignments[0]
    person = next(p for p in world.people if p.key == assignment.person_key)
    return [
        Persona("admin", "ada.admin"),
        Persona("finance", "fin.controller"),
        Persona("delivery", "del.lead"),
        Persona("consultant", person.email, resource=ids.encode("Resource", person.hcm_id)),
        Persona("client", f"portal@{client.name}", client=ids.encode("Client", client.crm_id)),
    ]


def demo_tokens(settings: Settings, world: World, ttl: int = 12 * 3600) -> dict[str, str]:
    """role -> a token of that role's persona, signed by the demo's identity provider."""
    identity = Identity.from_settings(settings)
    return {
        persona.role: identity.token_for(
            persona.role, persona.client, persona.resource, sub=persona.sub, ttl=ttl
        )
        for persona in personas(world)
    }
