"""The public contract's Query fields all exist, with the contract's arguments."""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType, GraphQLSchema, get_named_type
from graphql import build_schema as parse_sdl

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

served = build_schema()._schema


def query_type(schema: GraphQLSchema) -> GraphQLObjectType:
    assert schema.query_type is not None
    return schema.query_type


contract_query = query_type(parse_sdl(CONTRACT))


@pytest.mark.parametrize("name", list(contract_query.fields))
def test_every_contract_query_field_is_served_with_its_arguments(name):
    wanted = contract_query.fields[name]
    field = query_type(served).fields[name]

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
        served_type = served.type_map[name]
        assert isinstance(served_type, GraphQLObjectType)
        assert "Node" in [i.name for i in served_type.interfaces], name


def test_the_schema_is_ready_for_mutations_and_subscriptions_to_be_added():
    import strawberry

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def ping(self) -> bool:
            return True

    mutation_type = build_schema(mutation=Mutation)._schema.mutation_type

    assert mutation_type is not None
    assert "ping" in mutation_type.fields
