"""Who may do what, as three tables: OPERATIONS, FIELD_GROUPS and ROWS.

Read it as the schema contract's role table ("Governance"). Anything not granted here is
refused: an operation missing from OPERATIONS runs for nobody, a node type missing from a
role's ROWS shows that role no rows. The tables are data; `schema.policy` applies them to
the schema's fields once, `resolvers.scope` to the rows every loader and list answers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum

from gateway.auth.principal import ROLES, Principal

EVERYONE = frozenset(ROLES)
STAFF = frozenset({"admin", "finance", "delivery"})
FINANCE = frozenset({"admin", "finance"})


def roles(*names: str) -> frozenset[str]:
    unknown = set(names) - EVERYONE
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return frozenset(names)


# Root fields of Mutation, Subscription and Query -> the roles that may call them.
# Query fields not listed are open to every role: what they return is cut by ROWS.
OPERATIONS: dict[str, frozenset[str]] = {
    # mutations
    "startProjectFromOpportunity": roles("admin", "delivery"),
    "completeMilestone": roles("admin", "delivery"),
    "approveTimeEntries": roles("admin", "finance", "delivery"),
    "submitTime": roles("admin", "delivery", "consultant"),  # a consultant: for itself only
    "fillStaffingRequest": roles("admin", "delivery"),
    "generateInvoice": roles("admin", "finance"),
    "retryWorkflow": roles("admin", "finance"),
    "cancelWorkflow": roles("admin"),
    "replayDeadLetter": roles("admin"),
    "acknowledgeException": STAFF,
    "remediateException": STAFF,
    # subscriptions: every event is still checked against ROWS before it is sent
    "events": EVERYONE,
    "workflowUpdated": STAFF,
    "projectUpdated": EVERYONE,
    "exceptionsChanged": STAFF,
    # queries reserved to some roles
    "auditLog": roles("admin"),
    "deadLetters": roles("admin"),
    "workflow": STAFF,
    "workflows": STAFF,
    "integrationHealth": STAFF,
    "automations": STAFF,
    "staffingRequests": STAFF,
    "opportunities": STAFF,
    # business visibility: the firm's own queue and figures, never a client's or consultant's
    "exceptions": STAFF,
    "kpis": STAFF,
}
# Operations some roles may run only for themselves: the named argument must be the
# caller's own Resource id (a consultant submits its own time).
FOR_THEMSELVES: dict[str, tuple[str, frozenset[str]]] = {
    "submitTime": ("resourceId", roles("consultant")),
}
ROOTS = ("Query", "Mutation", "Subscription")
# Every Mutation and Subscription field must be listed in OPERATIONS (default deny).
DENY_UNLISTED = ("Mutation", "Subscription")


@dataclass(frozen=True)
class FieldGroup:
    roles: frozenset[str]
    fields: tuple[str, ...]  # "Type.field"; "Type.*" is every field of the type but `keep`
    keep: tuple[str, ...] = ("id", "name")


FIELD_GROUPS: dict[str, FieldGroup] = {
    # money: rates, margins, receivables, what an exception puts at risk, unbilled amounts
    "money": FieldGroup(
        FINANCE,
        (
            "Resource.costRate",
            "Resource.billRate",
            "ProjectHealth.margin",
            "ProjectHealth.unbilledAmount",
            "Client.receivables",
            "Client.creditStatus",
            "BusinessException.revenueAtRisk",
            "Kpis.unbilledApprovedAmount",
        ),
    ),
    # how the firm runs its people and projects: never shown to a client
    "internal": FieldGroup(
        roles("admin", "finance", "delivery", "consultant"),
        (
            "Resource.utilization",
            "StaffingCandidate.utilization",
            "ProjectHealth.risks",
            "ProjectHealth.budgetBurn",
            "Project.opportunity",
            "Project.budget",
            "Project.conflicts",
            "Invoice.blockedReason",
        ),
    ),
    # the whole team's work on a project: staff only (a consultant sees its own time)
    "team": FieldGroup(
        STAFF,
        (
            "Project.timeEntries",
            "Project.assignments",
            "Project.staffingRequests",
            "Client.opportunities",
        ),
    ),
    # a person beyond the name: not for clients (they see their project manager's name)
    "people": FieldGroup(roles("admin", "finance", "delivery", "consultant"), ("Resource.*",)),
    # a client beyond the name: not for consultants (they see their projects' client's name)
    "accounts": FieldGroup(roles("admin", "finance", "delivery", "client"), ("Client.*",)),
}


class Rows(Enum):
    """Which rows of a node type a role reads."""

    EVERY = "every row"
    OWN_CLIENT = "its own client"  # Client
    OF_OWN_CLIENT = "its client's"  # Project, Milestone, Invoice
    MANAGING_OWN_PROJECTS = "its projects' managers"  # Resource, for a client
    SELF = "itself"  # Resource, for a consultant
    OWN = "its own"  # TimeEntry, for a consultant
    ASSIGNED = "those it is assigned to"  # Project, for a consultant
    OF_ASSIGNED = "its projects' clients"  # Client, for a consultant


_STAFF_ROWS = {
    kind: Rows.EVERY
    for kind in (
        "Client",
        "Opportunity",
        "Project",
        "Milestone",
        "Assignment",
        "StaffingRequest",
        "Resource",
        "TimeEntry",
        "Invoice",
        "Workflow",
        "BusinessException",
    )
}

# role -> node type -> the rows of it the role reads; a type not listed: none.
ROWS: dict[str, dict[str, Rows]] = {
    "admin": _STAFF_ROWS,
    "finance": _STAFF_ROWS,
    "delivery": _STAFF_ROWS,
    "consultant": {
        "Resource": Rows.SELF,
        "TimeEntry": Rows.OWN,
        "Project": Rows.ASSIGNED,
        "Client": Rows.OF_ASSIGNED,
    },
    "client": {
        "Client": Rows.OWN_CLIENT,
        "Project": Rows.OF_OWN_CLIENT,
        "Milestone": Rows.OF_OWN_CLIENT,
        "Invoice": Rows.OF_OWN_CLIENT,
        "Resource": Rows.MANAGING_OWN_PROJECTS,
    },
}


def may_run(principal: Principal | None, operation: str, root: str = "Mutation") -> bool:
    if principal is None:
        return False
    allowed = OPERATIONS.get(operation)
    if allowed is None:
        return root not in DENY_UNLISTED
    return principal.has(*allowed)


def only_for_themselves(principal: Principal | None, operation: str) -> str | None:
    """The argument that must name the caller's own Resource, when the caller may run
    `operation` only for itself; None when it may run it for anyone."""
    if principal is None or operation not in FOR_THEMSELVES:
        return None
    argument, limited = FOR_THEMSELVES[operation]
    unlimited = OPERATIONS[operation] - limited
    return None if principal.has(*unlimited) else argument


def may_read(principal: Principal | None, group: str) -> bool:
    return principal is not None and principal.has(*FIELD_GROUPS[group].roles)


def may_read_field(principal: Principal | None, type_name: str, field_name: str) -> bool:
    """Whether the caller may read `Type.field`: it is in every group the field is in."""
    return may_read_groups(principal, groups_of(type_name, field_name))


def may_read_groups(principal: Principal | None, groups: tuple[str, ...]) -> bool:
    """Whether the caller may read a field that is in every one of `groups`."""
    if principal is None:
        return not groups
    return _roles_read(principal.roles, groups)


@functools.lru_cache(maxsize=1024)  # asked for every row of a guarded field
def _roles_read(roles: frozenset[str], groups: tuple[str, ...]) -> bool:
    return all(not roles.isdisjoint(FIELD_GROUPS[group].roles) for group in groups)


@functools.lru_cache(maxsize=1024)
def groups_of(type_name: str, field_name: str) -> tuple[str, ...]:
    """The FIELD_GROUPS groups `Type.field` is in; none: every role reads it."""
    found = []
    for name, group in FIELD_GROUPS.items():
        for pattern in group.fields:
            kind, _, field = pattern.partition(".")
            if kind == type_name and (
                field == field_name or (field == "*" and field_name not in group.keep)
            ):
                found.append(name)
                break
    return tuple(found)


def rows(principal: Principal | None, node_type: str) -> frozenset[Rows]:
    """The row rules the caller's roles give it over `node_type` (EVERY alone if any
    role reads every row; empty: no row)."""
    if principal is None:
        return frozenset()
    return _rows_of(principal.roles, node_type)


@functools.lru_cache(maxsize=256)  # asked for every row that leaves the gateway
def _rows_of(roles: frozenset[str], node_type: str) -> frozenset[Rows]:
    found = {ROWS[role][node_type] for role in roles if node_type in ROWS[role]}
    return frozenset({Rows.EVERY}) if Rows.EVERY in found else frozenset(found)
