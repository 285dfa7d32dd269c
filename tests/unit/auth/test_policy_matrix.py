"""The policy tables read as the contract's role table: the whole role x field x
operation matrix is printed (`pytest -s` shows it), and the tables are checked against
the schema they govern, so a new mutation or a renamed field cannot slip past them."""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType, GraphQLSchema

from gateway.app import build_gateway
from gateway.auth.policy import (
    FIELD_GROUPS,
    OPERATIONS,
    ROWS,
    Rows,
    may_read,
    may_run,
    only_for_themselves,
    rows,
)
from gateway.auth.principal import ROLES, Principal
from gateway.settings import Settings
from schema.policy import guarded_fields


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_gateway(Settings(), connectors={}).schema._schema


def as_role(role: str) -> Principal:
    return Principal(subject=role, roles=frozenset({role}))


def matrix(schema: GraphQLSchema) -> str:
    fields = guarded_fields(schema)
    lines = [f"{'':36}" + "".join(f"{role:>24}" for role in ROLES)]
    for (type_name, field), groups in sorted(fields.items()):
        cells = ["read" if all(may_read(as_role(r), g) for g in groups) else "-" for r in ROLES]
        lines.append(f"{type_name + '.' + field:36}" + "".join(f"{c:>24}" for c in cells))
    for root in ("Query", "Mutation", "Subscription"):
        kind = schema.type_map[root]
        assert isinstance(kind, GraphQLObjectType)
        for name in sorted(kind.fields):
            cells = []
            for role in ROLES:
                allowed = may_run(as_role(role), name, root)
                limited = allowed and only_for_themselves(as_role(role), name)
                cells.append("self" if limited else "run" if allowed else "-")
            lines.append(f"{root + '.' + name:36}" + "".join(f"{c:>24}" for c in cells))
    for node_type in sorted({t for table in ROWS.values() for t in table}):
        cells = [
            ",".join(rule.name.lower() for rule in rows(as_role(r), node_type)) or "-"
            for r in ROLES
        ]
        lines.append(f"{'rows:' + node_type:36}" + "".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def test_the_role_matrix_is_printed(schema: GraphQLSchema) -> None:
    table = matrix(schema)
    print(table)

    def row(name: str) -> list[str]:
        line = next(line for line in table.splitlines() if line.startswith(name + " "))
        return line.split()[1:]

    # admin finance delivery consultant client
    assert row("Resource.costRate") == ["read", "read", "-", "-", "-"]
    assert row("Client.receivables") == ["read", "read", "-", "-", "-"]
    assert row("Resource.utilization") == ["read", "read", "read", "read", "-"]
    assert row("Mutation.fillStaffingRequest") == ["run", "-", "run", "-", "-"]
    assert row("Mutation.submitTime") == ["run", "-", "run", "self", "-"]
    assert row("Query.auditLog") == ["run", "-", "-", "-", "-"]
    assert row("Query.projects") == ["run"] * 5  # open; its rows are cut per role
    assert row("rows:Project") == ["every", "every", "every", "assigned", "of_own_client"]
    # business visibility: the firm's staff only; what is at risk is money
    for operation in (
        "Query.exceptions",
        "Query.kpis",
        "Mutation.acknowledgeException",
        "Mutation.remediateException",
        "Subscription.exceptionsChanged",
    ):
        assert row(operation) == ["run", "run", "run", "-", "-"], operation
    assert row("BusinessException.revenueAtRisk") == ["read", "read", "-", "-", "-"]
    assert row("Kpis.unbilledApprovedAmount") == ["read", "read", "-", "-", "-"]
    assert row("rows:BusinessException") == ["every", "every", "every", "-", "-"]


def test_every_mutation_and_subscription_is_in_the_table(schema: GraphQLSchema) -> None:
    for root in ("Mutation", "Subscription"):
        kind = schema.type_map[root]
        assert isinstance(kind, GraphQLObjectType)
        assert set(kind.fields) <= set(OPERATIONS), f"{root} fields missing from OPERATIONS"


def test_every_guarded_field_exists_and_is_nullable_or_a_list(schema: GraphQLSchema) -> None:
    from graphql import GraphQLList, GraphQLNonNull

    for (type_name, field_name), _ in guarded_fields(schema).items():
        field_type = schema.type_map[type_name].fields[field_name].type
        # a denied non-null scalar would null its parent: the tables must not name one
        assert not isinstance(field_type, GraphQLNonNull) or isinstance(
            field_type.of_type, GraphQLList
        ), f"{type_name}.{field_name} is non-null"


def test_an_operation_missing_from_the_table_runs_for_nobody() -> None:
    admin = as_role("admin")

    assert not may_run(admin, "someNewMutation", "Mutation")
    assert may_run(admin, "someNewQuery", "Query")  # queries are cut by rows instead
    assert not may_run(None, "projects", "Query")


def test_roles_combine_to_the_widest_rows() -> None:
    both = Principal(subject="x", roles=frozenset({"client", "finance"}))

    assert rows(both, "Project") == {Rows.EVERY}
    assert rows(as_role("client"), "TimeEntry") == frozenset()
    assert all(group.roles <= set(ROLES) for group in FIELD_GROUPS.values())
