"""The public contract's Query fields all exist, with the contract's arguments."""

from __future__ import annotations

import pytest
from graphql import build_schema as parse_sdl
from graphql import get_named_type

from schema import build_schema

# The Query type and argument types of the schema contract, verbatim.
CONTRACT = """
scalar Date
scalar DateTime
interface Node { id: ID! }
type Client implements Node { id: ID! }
type Project implements Node { id: ID! }
type Resource implements Node { id: ID! }
type Opportunity implements Node { id: ID! }
type Invoice implements Node { id: ID! }
type TimeEntry implements Node { id: ID! }
type Workflow implements Node { id: ID! }
type DomainEvent { cursor: String! }
type ClientConnection { totalCount: Int }
type ProjectConnection { totalCount: Int }
type ResourceConnection { totalCount: Int }
type OpportunityConnection { totalCount: Int }
type InvoiceConnection { totalCount: Int }
type TimeEntryConnection { totalCount: Int }
type WorkflowConnection { totalCount: Int }
enum ProjectStatus { PLANNED ACTIVE ON_HOLD COMPLETED CANCELLED }
enum OpportunityStage { PROSPECTING QUALIFICATION PROPOSAL NEGOTIATION CLOSED_WON CLOSED_LOST }
enum InvoiceStatus { DRAFT POSTED PAID VOID BLOCKED }
enum TimeEntryStatus { DRAFT SUBMITTED APPROVED REJECTED INVOICED }
enum WorkflowStatus { PENDING RUNNING SUCCEEDED FAILED COMPENSATED NEEDS_ATTENTION CANCELLED }
type Query {
  node(id: ID!): Node
  clients(first: Int, after: String, search: String): ClientConnection!
  projects(first: Int, after: String, status: ProjectStatus, clientId: ID, practice: String): ProjectConnection!
  resources(first: Int, after: String, practice: String, skill: String): ResourceConnection!
  opportunities(first: Int, after: String, stage: OpportunityStage): OpportunityConnection!
  invoices(first: Int, after: String, status: InvoiceStatus, clientId: ID): InvoiceConnection!
  timeEntries(first: Int, after: String, status: TimeEntryStatus, projectId: ID, resourceId: ID, from: Date, to: Date): TimeEntryConnection!
  workflow(id: ID!): Workflow
  workflows(first: Int, after: String, status: WorkflowStatus): WorkflowConnection!
  events(after: String, types: [String!], first: Int): [DomainEvent!]!
}
"""  # noqa: E501

contract_query = parse_sdl(CONTRACT).query_type
served = build_schema()._schema


@pytest.mark.parametrize("name", list(contract_query.fields))
def test_every_contract_query_field_is_served_with_its_arguments(name):
    wanted = contract_query.fields[name]
    field = served.query_type.fields[name]

    assert get_named_type(field.type).name == get_named_type(wanted.type).name
    for argument, spec in wanted.args.items():
        assert argument in field.args, f"{name}({argument}) missing"
        assert str(field.args[argument].type) == str(spec.type), f"{name}({argument})"


def test_contract_object_types_are_served_and_implement_node():
    for name in (
        "Client",
        "Opportunity",
        "Project",
        "Milestone",
        "Resource",
        "Assignment",
        "StaffingRequest",
        "TimeEntry",
        "Invoice",
        "Workflow",
    ):
        assert "Node" in [i.name for i in served.type_map[name].interfaces], name


def test_the_schema_is_ready_for_mutations_and_subscriptions_to_be_added():
    import strawberry

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def ping(self) -> bool:
            return True

    schema = build_schema(mutation=Mutation)

    assert "ping" in schema._schema.mutation_type.fields
