"""Who is asking (`Query.viewer`) and who changed what (`Query.auditLog`, admins only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.auth.principal import from_audit_name
from gateway.store.records import AuditEntry as AuditRecord
from resolvers import links, scope
from resolvers.connections import page_size
from schema.clients import Client
from schema.common import GatewayInfo, context, described
from schema.people import Resource


@strawberry.type
class Viewer:
    subject: str
    roles: list[str]

    @described("The client a portal user is bound to (its token's client_id).")
    async def client(self, info: GatewayInfo) -> Client | None:
        ctx = context(info)
        key = scope.client_key(ctx)
        view = await links.client_by_key(ctx, key) if key is not None else None
        return Client.of(view) if view is not None else None

    @described("The person a consultant is (its token's resource_id).")
    async def resource(self, info: GatewayInfo) -> Resource | None:
        ctx = context(info)
        key = scope.resource_key(ctx)
        view = await links.resource_by_key(ctx, key) if key is not None else None
        return Resource.of(view) if view is not None else None


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    at: datetime
    subject: str = strawberry.field(description="The token's `sub`, or the gateway's own name.")
    roles: list[str] = strawberry.field(description="The token's roles when it acted.")
    action: str
    system: str | None
    object_type: str
    object_id: str
    workflow_id: str | None

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditEntry:
        subject, roles = from_audit_name(entry.principal)
        return cls(
            id=strawberry.ID(str(entry.id)),
            at=entry.at,
            subject=subject,
            roles=roles,
            action=entry.action,
            system=entry.system,
            object_type=entry.object_type,
            object_id=entry.object_id,
            workflow_id=entry.workflow_id,
        )


@strawberry.type
class GovernanceQuery:
    @strawberry.field
    def viewer(self, info: GatewayInfo) -> Viewer:
        principal = context(info).principal
        if principal is None:  # the HTTP and WebSocket doors let no such request in
            return Viewer(subject="", roles=[])
        return Viewer(subject=principal.subject, roles=sorted(principal.roles))

    @described("Every write and workflow start, newest first, with who asked (admins only).")
    async def audit_log(
        self,
        info: GatewayInfo,
        first: int | None = None,
        subject: str | None = None,
        object_type: str | None = None,
        workflow_id: str | None = None,
    ) -> list[AuditEntry]:
        ctx = context(info)
        if ctx.commands is None:
            return []
        found = await ctx.commands.store.audit.find(
            object_type=object_type,
            workflow_id=workflow_id,
            limit=page_size(first, ctx.limits) if subject is None else ctx.limits.max_page_size,
            newest_first=True,
        )
        entries = [AuditEntry.of(entry) for entry in found]
        if subject is not None:
            entries = [entry for entry in entries if entry.subject == subject]
        return entries[: page_size(first, ctx.limits)]
