"""Authentication over real HTTP: the gateway trusts the identity provider sandbox's tokens
and nothing else, on every transport, and follows the provider's key rotation."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from gateway.app import create_app
from gateway.settings import Settings
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import Served, serving, settings_for
from sandboxes.idp.keys import SigningKey
from sandboxes.runner import SandboxCluster

QUERY = "{ viewer { subject roles } }"


@pytest.fixture
async def gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> AsyncIterator[Served]:
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db")
    # Refetch the keys on every unknown kid: these tests rotate them back to back.
    auth = settings.auth.model_copy(update={"jwks_refresh_cooldown_s": 0.0})
    async with serving(create_app(settings.model_copy(update={"auth": auth}))) as served:
        yield served


async def post(gateway: Served, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(gateway.graphql, json={"query": QUERY}, headers=headers or {})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


def forged(identity: Identity, alg: str = "RS256") -> str:
    """A token like the provider's in every claim, signed by a key the provider never had."""
    key = SigningKey.new(alg)  # type: ignore[arg-type]
    now = int(time.time())
    claims = {
        "iss": identity.issuer,
        "aud": identity.audience,
        "sub": "mallory",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, key.private, algorithm=alg, headers={"kid": key.kid})


async def test_a_token_from_the_provider_is_accepted_and_names_the_caller(
    gateway: Served, identity: Identity
) -> None:
    response = await post(gateway, identity.headers_for("finance", sub="fin@firm"))

    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"] == {"subject": "fin@firm", "roles": ["finance"]}


async def test_a_machine_consumer_uses_client_credentials(
    gateway: Served, identity: Identity
) -> None:
    response = await post(gateway, bearer(identity.machine_token("delivery")))

    assert response.json()["data"]["viewer"] == {
        "subject": "psgraph-harness",
        "roles": ["delivery"],
    }


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="not-bearer"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, id="malformed"),
    ],
)
async def test_a_request_without_a_usable_token_is_401(
    gateway: Served, headers: dict[str, str]
) -> None:
    assert_unauthenticated(await post(gateway, headers))


async def test_an_expired_token_is_401(gateway: Served, identity: Identity) -> None:
    expired = identity.token_for("admin", ttl=-120)  # past the 30 s clock-skew allowance

    assert_unauthenticated(await post(gateway, bearer(expired)))


async def test_a_token_for_another_audience_is_401(gateway: Served, identity: Identity) -> None:
    elsewhere = identity.token_for("admin", audience="some-other-api")

    assert_unauthenticated(await post(gateway, bearer(elsewhere)))


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_token_signed_by_another_key_is_401(
    gateway: Served, identity: Identity, alg: str
) -> None:
    assert_unauthenticated(await post(gateway, bearer(forged(identity, alg))))


async def test_after_a_rotation_old_and_new_keys_both_verify(
    gateway: Served, identity: Identity
) -> None:
    before = identity.token_for("admin", sub="before-rotation", ttl=600)
    assert (await post(gateway, bearer(before))).status_code == 200  # the keys are cached now

    rotated = identity.rotate("ES256")
    after = identity.token_for("admin", sub="after-rotation", ttl=600)

    assert jwt.get_unverified_header(after)["kid"] == rotated["kid"]
    old, new = await post(gateway, bearer(before)), await post(gateway, bearer(after))
    assert old.json()["data"]["viewer"]["subject"] == "before-rotation"
    assert new.json()["data"]["viewer"]["subject"] == "after-rotation"
    identity.rotate("RS256")  # leave an RS256 key current for the rest of the session


async def test_get_and_sse_need_the_token_too(gateway: Served, identity: Identity) -> None:
    sse = {"accept": "text/event-stream"}
    async with httpx.AsyncClient(timeout=30) as http:
        by_get = await http.get(gateway.graphql, params={"query": QUERY})
        by_sse = await http.post(gateway.graphql, json={"query": QUERY}, headers=sse)
        allowed = await http.get(
            gateway.graphql, params={"query": QUERY}, headers=identity.headers_for("admin")
        )

    assert_unauthenticated(by_get)
    assert_unauthenticated(by_sse)
    assert allowed.status_code == 200


async def test_health_stays_open_and_graphiql_shows_no_data(gateway: Served) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        health = await http.get(f"{gateway.url}/healthz")
        ready = await http.get(f"{gateway.url}/readyz")
        page = await http.get(gateway.graphql, headers={"accept": "text/html"})

    assert health.status_code == 200
    assert ready.status_code in (200, 503)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def ws_connect(gateway: Served, payload: dict[str, Any]) -> dict[str, Any]:
    """The server's answer to a graphql-transport-ws connection_init with `payload`."""
    url = gateway.graphql.replace("http://", "ws://")
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            answer = await socket.recv()
        except ConnectionClosed as closed:
            return {"closed": closed.rcvd.code if closed.rcvd else None}
        return {"message": answer}


async def test_a_websocket_without_a_token_is_closed_with_4403(
    gateway: Served, identity: Identity
) -> None:
    refused = await ws_connect(gateway, {})
    forged_in = await ws_connect(gateway, bearer(forged(identity)))
    accepted = await ws_connect(gateway, identity.headers_for("admin"))

    assert refused == {"closed": 4403}
    assert forged_in == {"closed": 4403}
    assert "connection_ack" in accepted["message"]


async def test_graphiql_and_introspection_are_off_unless_configured(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path, identity: Identity
) -> None:
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db")
    closed = settings.auth.model_copy(update={"graphiql": False, "introspection": False})
    admin = identity.headers_for("admin")
    async with (
        serving(create_app(settings.model_copy(update={"auth": closed}))) as served,
        httpx.AsyncClient(timeout=30) as http,
    ):
        page = await http.get(served.graphql, headers={"accept": "text/html"})
        introspection = await http.post(
            served.graphql, json={"query": "{ __schema { types { name } } }"}, headers=admin
        )
        ordinary = await http.post(served.graphql, json={"query": QUERY}, headers=admin)

    assert_unauthenticated(page)  # no page without a token, and no token gets one either
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert ordinary.json()["data"]["viewer"]["roles"] == ["admin"]
