"""The business visibility types and roots as the schema contract names them."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLObjectType
from graphql import build_schema as parse_sdl

from gateway.app import build_gateway
from gateway.settings import Settings

# From the contract's "Business visibility" section, verbatim where it is about these.
CONTRACT = """
scalar Date
scalar DateTime
scalar Decimal
interface Node { id: ID! }
type Money { amount: Decimal! currency: String! }
enum SourceSystem { CRM PSA HCM ERP TIME }
type DurationStats { count: Int! p50Seconds: Float p90Seconds: Float maxSeconds: Float }
type Kpis {
  from: Date!
  to: Date!
  quoteToProjectCycleTime: DurationStats!
  approvedTimeToErpLatency: DurationStats!
  approvedTimeToInvoiceLatency: DurationStats!
  unbilledApprovedHours: Float!
  unbilledApprovedAmount: Money
  invoicesBlockedShare: Float!
  utilizationFreshnessSeconds: Float
  projectsMissingFinanceCode: Int!
  contractsWithoutBillingSchedule: Int!
  openExceptions: Int!
  integrationIncidentResolution: DurationStats!
}
enum ExceptionKind {
  PROJECT_MISSING_FINANCE_CODE CONTRACT_WITHOUT_BILLING_SCHEDULE
  APPROVED_TIME_ON_CLOSED_PROJECT APPROVED_TIME_NOT_POSTED DUPLICATE_CUSTOMER
  INVOICE_BLOCKED STAFFING_REQUEST_UNASSIGNED RESOURCE_CONFLICT
  WORKFLOW_NEEDS_ATTENTION SOURCE_DEGRADED
}
enum ExceptionStatus { OPEN ACKNOWLEDGED RESOLVED }
enum Team { FINANCE PMO INTEGRATION }
type BusinessException implements Node {
  id: ID!
  kind: ExceptionKind!
  status: ExceptionStatus!
  ownerTeam: Team!
  priority: Int!
  revenueAtRisk: Money
  summary: String!
  suggestedAction: String
  subject: Node
  source: SourceSystem
  detectedAt: DateTime!
  acknowledgedAt: DateTime
  resolvedAt: DateTime
}
type Query { node(id: ID!): Node }
"""
ROOT_FIELDS = {
    "query": {
        "kpis": {"from", "to"},
        "exceptions": {"first", "after", "kind", "status", "ownerTeam"},
    },
    "mutation": {
        "acknowledgeException": {"id", "note"},
        "remediateException": {"id", "idempotencyKey"},
    },
    "subscription": {"exceptionsChanged": {"ownerTeam"}},
}

contract = parse_sdl(CONTRACT)
served = build_gateway(Settings(sources={})).schema._schema


def _fields(schema, name):
    found = schema.type_map[name]
    assert isinstance(found, GraphQLObjectType)
    return {n: str(f.type) for n, f in found.fields.items()}


def test_kpis_business_exception_and_duration_stats_have_the_contracts_fields():
    for name in ("Kpis", "BusinessException", "DurationStats"):
        assert _fields(served, name) == _fields(contract, name), name


def test_the_enums_have_the_contracts_values():
    for name in ("ExceptionKind", "ExceptionStatus", "Team"):
        wanted, have = contract.type_map[name], served.type_map[name]
        assert isinstance(wanted, GraphQLEnumType)
        assert isinstance(have, GraphQLEnumType)
        assert set(have.values) == set(wanted.values), name


def test_the_roots_have_the_contracts_fields_and_arguments():
    roots = {
        "query": served.query_type,
        "mutation": served.mutation_type,
        "subscription": served.subscription_type,
    }
    for root, fields in ROOT_FIELDS.items():
        kind = roots[root]
        assert kind is not None
        for name, arguments in fields.items():
            assert set(kind.fields[name].args) == arguments, name
    assert str(served.query_type.fields["exceptions"].type) == "BusinessExceptionConnection!"
    assert str(served.mutation_type.fields["remediateException"].type) == "Workflow!"
