"""Token buckets in the process, and whose rates a caller gets."""

from __future__ import annotations

from gateway.rate_limits import MemoryBuckets, Rate, RateLimiter, RatePolicy, Rates

SLOW = Rate(per_s=0.001, burst=3)


async def test_a_bucket_spends_its_burst_then_says_how_long_to_wait():
    buckets = MemoryBuckets()

    spent = [await buckets.take("c", SLOW, 1) for _ in range(3)]
    wait = await buckets.take("c", SLOW, 1)

    assert spent == [0.0, 0.0, 0.0]
    assert wait > 900  # one token at a thousandth of a token per second


async def test_consumers_have_buckets_of_their_own():
    buckets = MemoryBuckets()
    for _ in range(3):
        await buckets.take("a", SLOW, 1)

    assert await buckets.take("b", SLOW, 1) == 0.0


async def test_the_limiter_refuses_on_cost_as_well_as_on_count():
    policy = RatePolicy(Rates(operations=Rate(10, 100), cost=Rate(0.001, 50)))
    limiter = RateLimiter(MemoryBuckets(), policy)

    assert await limiter.admit("c", frozenset(), 40) is None
    refused = await limiter.admit("c", frozenset(), 40)

    assert refused is not None
    assert refused.extensions["code"] == "RATE_LIMITED"
    assert refused.extensions["retryAfter"] >= 1


def test_a_caller_gets_its_most_generous_roles_rates_or_the_default():
    generous, stingy = Rates(operations=Rate(100, 100)), Rates(operations=Rate(1, 1))
    policy = RatePolicy(by_role={"admin": generous, "client": stingy})

    assert policy.rates_for(frozenset({"client", "admin"})) is generous
    assert policy.rates_for(frozenset({"client"})) is stingy
    assert policy.rates_for(frozenset({"consultant"})) == policy.default
