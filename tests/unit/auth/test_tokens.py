"""The token verifier's rules, against an issuer in process: the keys it fetches and when,
the claims it checks and the principal it makes."""

from __future__ import annotations

import time

import jwt
import pytest

from gateway.auth.principal import Principal
from gateway.auth.tokens import IssuerKeys, TokenVerifier, UnauthenticatedError
from tests.unit.auth.fakes import ISSUER, LocalIssuer


@pytest.fixture
def issuer() -> LocalIssuer:
    return LocalIssuer()


def bearer(token: str) -> str:
    return f"Bearer {token}"


async def test_claims_become_the_principal(issuer: LocalIssuer) -> None:
    token = issuer.token(("client",), sub="ana", client_id="Q2xpZW50OjE")

    found = await issuer.verifier().principal(bearer(token))

    assert found == Principal("ana", frozenset({"client"}), client_id="Q2xpZW50OjE")


async def test_keys_are_discovered_once_and_cached(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    for _ in range(3):
        await verifier.principal(bearer(issuer.token()))

    assert issuer.fetched == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/keys"]


async def test_an_unknown_kid_refetches_the_keys_once_per_cooldown(issuer: LocalIssuer) -> None:
    verifier = TokenVerifier(issuer.config(), IssuerKeys(ISSUER, issuer.fetch, cooldown_s=60))
    await verifier.principal(bearer(issuer.token()))
    issuer.keys.rotate("ES256")

    with pytest.raises(UnauthenticatedError, match="does not publish"):
        await verifier.principal(bearer(issuer.token()))  # within the cooldown: no refetch

    assert issuer.fetched.count(f"{ISSUER}/keys") == 1


async def test_a_rotated_key_is_picked_up_and_the_old_one_still_verifies(
    issuer: LocalIssuer,
) -> None:
    verifier = issuer.verifier()
    old = issuer.token(sub="old")
    await verifier.principal(bearer(old))
    issuer.keys.rotate("ES256")

    new = await verifier.principal(bearer(issuer.token(sub="new")))
    still = await verifier.principal(bearer(old))

    assert (new.subject, still.subject) == ("new", "old")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        pytest.param({"exp": -120}, "expired", id="expired"),
        pytest.param({"nbf": +120}, "not yet valid", id="not-yet-valid"),
        pytest.param({"aud": "elsewhere"}, "audience", id="audience"),
        pytest.param({"iss": "https://other.example"}, "issuer", id="issuer"),
        pytest.param({"roles": ["superuser"]}, "none of the gateway's roles", id="no-role"),
    ],
)
async def test_bad_claims_are_refused(
    issuer: LocalIssuer, claims: dict[str, object], reason: str
) -> None:
    """`exp` and `nbf` are given as seconds from now."""
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}  # type: ignore[operator]
    with pytest.raises(UnauthenticatedError, match=f"(?i){reason}"):
        await issuer.verifier().principal(bearer(issuer.token(**claims)))  # type: ignore[arg-type]


async def test_a_little_clock_skew_is_allowed(issuer: LocalIssuer) -> None:
    just_expired = issuer.token(exp=int(time.time()) - 5)

    assert (await issuer.verifier().principal(bearer(just_expired))).subject == "someone"


async def test_no_issuer_configured_refuses_everything(issuer: LocalIssuer) -> None:
    verifier = TokenVerifier.from_settings(issuer.config().model_copy(update={"issuer": None}))

    with pytest.raises(UnauthenticatedError, match="no token issuer"):
        await verifier.principal(bearer(issuer.token()))


async def test_a_token_already_verified_is_not_verified_again(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = issuer.verifier()
    token = issuer.token(sub="dashboard")
    first = await verifier.principal(bearer(token))
    checks = 0
    decode = jwt.decode

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal checks
        checks += 1
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counted)
    again = [await verifier.principal(bearer(token)) for _ in range(3)]
    other = await verifier.principal(bearer(issuer.token(sub="someone else")))

    assert again == [first] * 3
    assert other.subject == "someone else"
    assert checks == 1  # only the new token's signature


async def test_a_remembered_token_is_refused_once_it_expires(issuer: LocalIssuer) -> None:
    strict = issuer.config().model_copy(update={"leeway_s": 0})
    verifier = TokenVerifier(strict, IssuerKeys(ISSUER, issuer.fetch))
    token = issuer.token(exp=int(time.time()) + 1)
    await verifier.principal(bearer(token))

    time.sleep(2.1)
    with pytest.raises(UnauthenticatedError, match="expired"):
        await verifier.principal(bearer(token))
