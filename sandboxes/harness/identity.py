"""Bearer tokens for tests, benchmarks and the CLI, obtained the way a user would: from
the identity provider sandbox's token endpoint (its demo grant for a named persona).

    idp = Identity.of(cluster, settings)
    token = idp.token_for("client", client=client_global_id)
    httpx.post(url, json=..., headers=idp.headers_for("admin"))

`auth_at(settings, cluster)` points a gateway's settings at the cluster's identity
provider, so the gateway under test trusts exactly the tokens `Identity` hands out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.settings import Settings
from sandboxes.idp.server import PERSONA_GRANT, TOKEN
from sandboxes.runner import SandboxCluster

TOKEN_TIMEOUT_S = 30.0
HARNESS_TTL_S = 12 * 3600  # long enough for a whole test session to reuse one token
HARNESS_CLIENT = "psgraph-harness"


@dataclass
class Identity:
    issuer: str  # the identity provider's base URL, which is also its `iss`
    secret: str  # the token endpoint's client secret (the sandbox token)
    audience: str = "psgraph"
    _cached: dict[tuple[Any, ...], tuple[str, float]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, cluster: SandboxCluster, settings: Settings) -> Identity:
        return cls(cluster["idp"].url, settings.sandbox.tokens["idp"], settings.auth.audience)

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        """The identity provider a config file's gateway trusts (the demo's sandbox)."""
        if settings.auth.issuer is None:
            raise ValueError("these settings name no auth.issuer")
        return cls(settings.auth.issuer, settings.sandbox.tokens["idp"], settings.auth.audience)

    def token_for(
        self,
        role: str,
        client: str | None = None,
        resource: str | None = None,
        *,
        sub: str | None = None,
        ttl: int | None = None,
        audience: str | None = None,
    ) -> str:
        """A signed token for a persona with `role`; `client` and `resource` are the global
        ids a client portal user or a consultant is bound to. Reused while it lives when
        only the role (and bindings) are asked for."""
        key = (role, client, resource, sub, ttl, audience)
        reusable = ttl is None and audience is None
        if reusable and key in self._cached:
            token, expires = self._cached[key]
            if expires - time.time() > 600:
                return token
        form = {
            "grant_type": PERSONA_GRANT,
            "client_id": HARNESS_CLIENT,
            "client_secret": self.secret,
            "role": role,
            "sub": sub or f"{role}@harness",
            "ttl": str(HARNESS_TTL_S if ttl is None else ttl),
            "audience": audience or self.audience,
        }
        if client is not None:
            form["client"] = client
        if resource is not None:
            form["resource"] = resource
        token = self._issue(form)
        if reusable:
            self._cached[key] = (token, time.time() + HARNESS_TTL_S)
        return token

    def machine_token(self, *roles: str, client_id: str = HARNESS_CLIENT) -> str:
        """A machine consumer's token (the client-credentials grant)."""
        return self._issue(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": self.secret,
                "scope": " ".join(roles or ("admin",)),
                "audience": self.audience,
            }
        )

    def headers_for(self, role: str = "admin", **persona: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(role, **persona)}"}

    def rotate(self, alg: str = "RS256", grace_s: float | None = None) -> dict[str, Any]:
        """A new current signing key; the old ones stay published for `grace_s`."""
        body: dict[str, Any] = {"alg": alg}
        if grace_s is not None:
            body["grace_s"] = grace_s
        response = httpx.post(f"{self.issuer}/_sandbox/rotate", json=body, timeout=30)
        response.raise_for_status()
        rotated: dict[str, Any] = response.json()
        self._cached.clear()
        return rotated

    def _issue(self, form: dict[str, str]) -> str:
        response = httpx.post(f"{self.issuer}{TOKEN}", data=form, timeout=TOKEN_TIMEOUT_S)
        response.raise_for_status()
        return str(response.json()["access_token"])


def auth_at(settings: Settings, cluster: SandboxCluster) -> Settings:
    """`settings` with `auth.issuer` at the cluster's identity provider."""
    auth = settings.auth.model_copy(update={"issuer": cluster["idp"].url})
    return settings.model_copy(update={"auth": auth})
