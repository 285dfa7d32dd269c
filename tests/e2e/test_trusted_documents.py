"""Trusted documents over HTTP: operations named by the hash of their text (GraphQL over
HTTP's `documentId`, Apollo's persisted-query extension), and roles that may run nothing
else. Callers hold tokens from the sandboxes' identity provider."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings, TrustedDocumentsConfig
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import serving, settings_for
from sandboxes.runner import SandboxCluster

PORTAL = Path(__file__).parents[2] / "config" / "documents" / "portal"
MANIFEST = PORTAL / "manifest.json"
AD_HOC = "{ clients(first: 1) { totalCount } }"


@pytest.fixture(scope="module")
def manifest() -> dict[str, str]:
    found: dict[str, str] = json.loads(MANIFEST.read_text())
    return found


def portal_id(manifest: dict[str, str], operation: str) -> str:
    return next(key for key, text in manifest.items() if f"query {operation}(" in text)


@pytest.fixture
async def http(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db").model_copy(
        update={
            "trusted_documents": TrustedDocumentsConfig(
                manifest=MANIFEST, only_trusted_roles=["client"]
            )
        }
    )
    async with serving(create_app(settings)) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
            yield client


@pytest.fixture
def as_role(identity: Identity) -> Callable[..., dict[str, str]]:
    return lambda role, **persona: identity.headers_for(role, **persona)


async def graphql(
    http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def client_with_projects(http: httpx.AsyncClient, admin: dict[str, str]) -> str:
    found = await graphql(
        http, admin, {"query": "{ projects(first: 1) { edges { node { client { id } } } } }"}
    )
    return str(found["data"]["projects"]["edges"][0]["node"]["client"]["id"])


async def test_a_document_is_run_by_its_id(http, manifest, as_role):
    body = {
        "documentId": portal_id(manifest, "PortalProjects"),
        "variables": {"clientId": await client_with_projects(http, as_role("admin")), "first": 2},
    }

    answer = await graphql(http, as_role("admin"), body)

    assert "errors" not in answer, answer
    assert answer["data"]["projects"]["totalCount"] > 0


async def test_a_document_is_run_by_its_id_with_get(http, manifest, as_role):
    response = await http.get(
        "/graphql",
        headers=as_role("admin"),
        params={
            "documentId": portal_id(manifest, "PortalClient"),
            "variables": json.dumps({"id": await client_with_projects(http, as_role("admin"))}),
        },
    )

    assert response.status_code == 200
    assert "errors" not in response.json(), response.text


async def test_apollo_persisted_query_hashes_are_looked_up_in_the_manifest(http, manifest, as_role):
    hex_hash = portal_id(manifest, "PortalInvoices").removeprefix("sha256:")
    body = {
        "variables": {"clientId": await client_with_projects(http, as_role("admin"))},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hex_hash}},
    }

    answer = await graphql(http, as_role("admin"), body)

    assert "errors" not in answer, answer
    assert "totalCount" in answer["data"]["invoices"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"documentId": "sha256:" + "0" * 64}, id="documentId"),
        pytest.param(
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}},
            id="apq",
        ),
    ],
)
async def test_an_unknown_id_is_persisted_query_not_found(http, body, as_role):
    answer = await graphql(http, as_role("admin"), body)

    assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_portal_user_may_not_run_an_ad_hoc_document(http, as_role):
    answer = await graphql(
        http,
        as_role("client", client=await client_with_projects(http, as_role("admin"))),
        {"query": AD_HOC},
    )

    assert answer["errors"][0]["extensions"]["code"] == "UNTRUSTED_DOCUMENT"
    assert answer.get("data") is None


async def test_a_portal_user_may_send_a_trusted_document_in_full(http, manifest, as_role):
    text = manifest[portal_id(manifest, "PortalClient")]

    answer = await graphql(
        http,
        as_role("client", client=await client_with_projects(http, as_role("admin"))),
        {"query": text, "variables": {"id": "x"}},
    )

    assert all(e["extensions"]["code"] != "UNTRUSTED_DOCUMENT" for e in answer.get("errors", []))


async def test_other_roles_may_still_run_ad_hoc_documents(http, as_role):
    answer = await graphql(http, as_role("finance"), {"query": AD_HOC})

    assert "errors" not in answer, answer


def test_the_shipped_manifest_is_the_one_the_command_builds(tmp_path):
    out = tmp_path / "manifest.json"
    subprocess.run(
        [sys.executable, "-m", "gateway.cli", "documents", "build", str(PORTAL), "--out", str(out)],
        check=True,
        capture_output=True,
    )

    assert json.loads(out.read_text()) == json.loads(MANIFEST.read_text())
    assert len(json.loads(out.read_text())) == 3
