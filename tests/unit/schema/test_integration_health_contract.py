"""`integrationHealth`, `SourceHealth` and `SourceStatus` as the schema contract names them."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLObjectType
from graphql import build_schema as parse_sdl
from strawberry.tools import merge_types

from schema import build_schema
from schema.integration import IntegrationQuery
from schema.query import Query

# From the contract's "Business visibility" section, verbatim.
CONTRACT = """
scalar DateTime
enum SourceSystem { CRM PSA HCM ERP TIME }
enum SourceStatus { UP DEGRADED DOWN }

type SourceHealth {
  system: SourceSystem!
  status: SourceStatus!
  breaker: String!
  latencyP50Ms: Float
  latencyP95Ms: Float
  errorRate: Float!
  retries: Int!
  lastSuccessAt: DateTime
  lastChangeCapturedAt: DateTime
  captureLagSeconds: Float
  quotaRemaining: Float
}

type Query { integrationHealth: [SourceHealth!]! }
"""

contract = parse_sdl(CONTRACT)
served = build_schema(query=merge_types("Query", (Query, IntegrationQuery)))._schema


def test_source_health_has_the_contracts_fields_and_types() -> None:
    wanted = contract.type_map["SourceHealth"]
    have = served.type_map["SourceHealth"]
    assert isinstance(wanted, GraphQLObjectType)
    assert isinstance(have, GraphQLObjectType)
    assert {n: str(f.type) for n, f in have.fields.items()} == {
        n: str(f.type) for n, f in wanted.fields.items()
    }


def test_source_status_has_the_contracts_values() -> None:
    wanted, have = contract.type_map["SourceStatus"], served.type_map["SourceStatus"]
    assert isinstance(wanted, GraphQLEnumType)
    assert isinstance(have, GraphQLEnumType)
    assert set(have.values) == set(wanted.values)


def test_integration_health_is_a_query_field_of_the_contracts_type() -> None:
    assert served.query_type is not None
    assert contract.query_type is not None
    field = served.query_type.fields["integrationHealth"]
    assert str(field.type) == str(contract.query_type.fields["integrationHealth"].type)
