"""The static cost estimate and whose limit applies."""

from __future__ import annotations

import pytest
from graphql import parse

from gateway.app import build_gateway
from gateway.settings import Settings
from schema.cost import CostPolicy, estimate


@pytest.fixture(scope="module")
def schema():
    return build_gateway(Settings(store_url="sqlite+aiosqlite:///:memory:")).schema._schema


def cost(schema, query: str, policy: CostPolicy | None = None, **variables: object) -> int:
    return estimate(schema, parse(query), variables, None, policy or CostPolicy())


def test_scalars_cost_nothing_and_objects_one_read(schema):
    assert cost(schema, "{ __typename }") == 0
    assert cost(schema, "{ projects(first: 2) { totalCount } }") == 1


def test_nested_pages_multiply(schema):
    nested = (
        "{ clients(first: 10) { edges { node {"
        " projects(first: 5) { edges { node { name } } } } } } }"
    )

    assert cost(schema, nested) == 10 * (1 + 1 + (5 * 2 + 1)) + 1


def test_a_missing_first_counts_the_default_page_and_a_huge_one_the_largest(schema):
    query = "query($n: Int) { projects(first: $n) { edges { node { name } } } }"
    policy = CostPolicy(default_page_size=7, max_page_size=100)

    assert cost(schema, query, policy) == 7 * 2 + 1
    assert cost(schema, query, policy, n=10**9) == 100 * 2 + 1


def test_a_fragment_bomb_is_costed_in_linear_time(schema):
    fragments = "fragment F0 on Client { name }\n" + "\n".join(
        f"fragment F{i} on Client {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 200)
    )
    query = "{ clients(first: 1) { edges { node { ...F199 } } } }\n" + fragments

    assert cost(schema, query) == 3


def test_a_caller_gets_the_largest_limit_of_its_roles_or_the_default():
    policy = CostPolicy(max_cost=100, max_cost_by_role={"client": 10, "finance": 1000})

    assert policy.limit_for(frozenset({"client"})) == 10
    assert policy.limit_for(frozenset({"client", "finance"})) == 1000
    assert policy.limit_for(frozenset({"consultant"})) == 100
    assert policy.limit_for(None) == 100


PAGE = "query($n: Int) { projects(first: $n) { edges { node { name } } } }"


async def test_a_document_asked_again_with_the_same_variables_is_costed_once(monkeypatch, run):
    from schema import build_schema, guard

    worked_out: list[object] = []
    real = guard.estimate

    def counted(*args, **kwargs):
        worked_out.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(guard, "estimate", counted)
    schema = build_schema(cost=CostPolicy(max_cost=50))

    async def refused(**variables: object) -> bool:
        context = await run.gateway.context(principal=run.principal)
        result = await schema.execute(PAGE, variable_values=variables, context_value=context)
        codes = [(e.extensions or {}).get("code") for e in result.errors or []]
        return "COST_LIMIT" in codes

    assert [await refused(n=10), await refused(n=10), await refused(n=10)] == [False] * 3
    assert [await refused(n=100), await refused(n=100)] == [True, True]  # still refused
    await refused(n=10.0)  # equal to 10, of another type: costed afresh
    assert worked_out == [{"n": 10}, {"n": 100}, {"n": 10.0}]
