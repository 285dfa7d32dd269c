"""The authenticated caller of one request, as the gateway's policy sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("admin", "finance", "delivery", "consultant", "client")


@dataclass(frozen=True)
class Principal:
    """Read from a validated token's claims: `sub`, `roles`, `client_id` (a Client global id,
    for portal users) and `resource_id` (a Resource global id, for consultants)."""

    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    resource_id: str | None = None

    def has(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


# What the gateway itself acts as when no person asked: automations, scheduled work.
SYSTEM = Principal(subject="psgraph", roles=frozenset({"admin"}))
