"""The read benchmark's account of levels: the longest chain of calls, and what held
each call up."""

from __future__ import annotations

from bench.read_queries import chain, levels, why
from resolvers.upstream import UpstreamCall
from sources.records import SourceSystem


def call(system: str, entity: str, started_ms: float, ended_ms: float) -> UpstreamCall:
    return UpstreamCall(
        SourceSystem(system), entity, "list", 0, started_ms / 1000, ended_ms / 1000, None
    )


PAGE = call("PSA", "project", 0, 20)
BESIDE = call("TIME", "project", 0, 30)
CLIENTS = call("CRM", "account", 31, 50)  # needed the page (and started after both)
LATE = call("ERP", "job", 80, 100)  # 30 ms after the clients ended: the gateway was busy
NEXT_PAGE = call("ERP", "job", 100, 120)


def test_the_chain_follows_the_call_each_waited_for_longest():
    calls = [NEXT_PAGE, PAGE, LATE, BESIDE, CLIENTS]

    assert chain(calls) == [BESIDE, CLIENTS, LATE, NEXT_PAGE]
    assert levels(calls) == 4
    assert levels([]) == 0


def test_each_link_says_what_held_it_up():
    said = why([BESIDE, CLIENTS, LATE, NEXT_PAGE])

    assert said.split(" → ") == [
        "TIME project",
        "CRM account",
        "ERP job (30 ms later: the gateway was busy)",
        "ERP job (the next page: the vendor's cursor comes with the last)",
    ]
