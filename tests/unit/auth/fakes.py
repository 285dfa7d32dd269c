"""An issuer in process: its keys, discovery and JWKS served to the gateway's verifier by a
fetch function instead of HTTP, and tokens signed with them (unit tests only; the real
identity provider sandbox is exercised over HTTP in tests/integration and tests/e2e)."""

from __future__ import annotations

import time
from typing import Any

import jwt

from gateway.auth.tokens import IssuerKeys, TokenVerifier
from gateway.settings import AuthConfig
from sandboxes.idp.keys import KeyRing

ISSUER = "https://idp.example.test"


class LocalIssuer:
    def __init__(self) -> None:
        self.keys = KeyRing()
        self.fetched: list[str] = []

    async def fetch(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"}
        return {"keys": [key.jwk() for key in self.keys.published()]}

    def config(self, **values: Any) -> AuthConfig:
        return AuthConfig(issuer=ISSUER, **values)

    def verifier(self, **values: Any) -> TokenVerifier:
        config = self.config(**values)
        return TokenVerifier(config, IssuerKeys(ISSUER, self.fetch, cooldown_s=0))

    def token(self, roles: tuple[str, ...] = ("admin",), **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": "psgraph",
            "sub": "someone",
            "roles": list(roles),
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        key = self.keys.current
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid})

    def headers(self, roles: tuple[str, ...] = ("admin",), **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(roles, **claims)}"}
