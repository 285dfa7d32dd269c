"""Bearer tokens in, a `Principal` out: JWTs checked against the issuer's published keys.

The issuer is found by OpenID discovery (`{issuer}/.well-known/openid-configuration`);
its JWKS is fetched once and cached, and fetched again when a token names a key id the
cache does not hold (the issuer rotated its keys), at most once per cooldown so forged
key ids cannot make the gateway hammer the issuer. Signatures are RS256 or ES256; `iss`,
`aud`, `exp` and `nbf` are checked with a small clock-skew allowance.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
from cachetools import TTLCache
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth.principal import ROLES, Principal
from gateway.settings import AuthConfig

VERIFIED_TOKENS = 4096
VERIFIED_FOR_S = 300.0

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


class UnauthenticatedError(Exception):
    """The request carries no token the gateway accepts; the message says why."""


class IssuerKeys:
    """The issuer's public keys by key id, discovered and cached."""

    def __init__(self, issuer: str, fetch: Fetch, *, cooldown_s: float = 1.0) -> None:
        self._issuer = issuer.rstrip("/")
        self._fetch = fetch
        self._cooldown_s = cooldown_s
        self._keys: dict[str, Any] = {}
        self._jwks_uri: str | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any:
        if kid not in self._keys:
            await self._refresh(fetched_before=self._fetched_at)
        try:
            return self._keys[kid]
        except KeyError:
            raise UnauthenticatedError(
                "the token is signed with a key the issuer does not publish"
            ) from None

    async def _refresh(self, *, fetched_before: float) -> None:
        async with self._lock:
            if self._fetched_at > fetched_before:
                return  # another request refreshed while this one waited
            if time.monotonic() - self._fetched_at < self._cooldown_s:
                return
            try:
                if self._jwks_uri is None:
                    discovery = await self._fetch(
                        f"{self._issuer}/.well-known/openid-configuration"
                    )
                    self._jwks_uri = str(discovery["jwks_uri"])
                jwks = await self._fetch(self._jwks_uri)
            except (httpx.HTTPError, KeyError, ValueError) as error:
                raise UnauthenticatedError(
                    f"the issuer's keys could not be read: {error}"
                ) from None
            self._keys = {
                str(jwk["kid"]): _public_key(jwk) for jwk in jwks.get("keys", []) if "kid" in jwk
            }
            self._fetched_at = time.monotonic()


class TokenVerifier:
    def __init__(
        self, config: AuthConfig, keys: IssuerKeys | None, http: httpx.AsyncClient | None = None
    ) -> None:
        self._config = config
        self._keys = keys
        self._http = http
        # A dashboard sends the same token with every request: a signature checked once
        # is not checked again until the token expires (or falls out of this bounded cache).
        self._verified: TTLCache[str, tuple[Principal, float]] = TTLCache(
            maxsize=VERIFIED_TOKENS, ttl=VERIFIED_FOR_S
        )

    @classmethod
    def from_settings(cls, config: AuthConfig) -> TokenVerifier:
        if config.issuer is None:
            return cls(config, None)
        http = httpx.AsyncClient(timeout=config.fetch_timeout_s)

        async def fetch(url: str) -> dict[str, Any]:
            response = await http.get(url)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        keys = IssuerKeys(config.issuer, fetch, cooldown_s=config.jwks_refresh_cooldown_s)
        return cls(config, keys, http)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def principal(self, authorization: str | None) -> Principal:
        """The caller an `Authorization` header value names, or `UnauthenticatedError`."""
        if not authorization:
            raise UnauthenticatedError("a bearer token is required")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("the Authorization header must be 'Bearer <token>'")
        if self._keys is None or self._config.issuer is None:
            raise UnauthenticatedError("no token issuer is configured")
        token = token.strip()
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() <= expires + self._config.leeway_s:
                return principal
            del self._verified[token]
        claims = await self._claims(token)
        principal = _principal(claims)
        self._verified[token] = (principal, float(claims["exp"]))
        return principal

    async def _claims(self, token: str) -> dict[str, Any]:
        assert self._keys is not None
        assert self._config.issuer is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise UnauthenticatedError(f"the token is malformed: {error}") from None
        if header.get("alg") not in self._config.algorithms:
            raise UnauthenticatedError(
                f"the token's algorithm {header.get('alg')!r} is not accepted"
            )
        key = await self._keys.key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self._config.algorithms),
                audience=self._config.audience,
                issuer=self._config.issuer.rstrip("/"),
                leeway=self._config.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as error:
            raise UnauthenticatedError(f"the token is not valid: {error}") from None
        return claims


def _principal(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    known = frozenset(str(role) for role in roles if role in ROLES)
    if not known:
        raise UnauthenticatedError("the token grants none of the gateway's roles")
    return Principal(
        subject=str(claims["sub"]),
        roles=known,
        client_id=_text(claims.get("client_id")),
        resource_id=_text(claims.get("resource_id")),
    )


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _public_key(jwk: dict[str, Any]) -> Any:
    raw = json.dumps(jwk)
    return RSAAlgorithm.from_jwk(raw) if jwk.get("kty") == "RSA" else ECAlgorithm.from_jwk(raw)
