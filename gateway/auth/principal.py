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

    @property
    def audit_name(self) -> str:
        """How the audit log names the caller: its subject and roles, "alice (finance)"."""
        return f"{self.subject} ({','.join(sorted(self.roles))})"


def from_audit_name(name: str) -> tuple[str, list[str]]:
    """The subject and roles an audit entry's principal names (no roles: a name from
    before authentication, or a trigger's)."""
    subject, sep, roles = name.rpartition(" (")
    if not sep or not roles.endswith(")"):
        return name, []
    return subject, [role for role in roles[:-1].split(",") if role]


# What the gateway itself acts as when no person asked: automations, scheduled work.
SYSTEM = Principal(subject="psgraph", roles=frozenset({"admin"}))
