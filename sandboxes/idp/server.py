"""An Okta/Entra-shaped identity provider: OpenID discovery, a rotating JWKS and a token
endpoint, for the gateway's consumers to obtain bearer tokens from.

Routes (the issuer is the server's own base URL):

- `GET  /.well-known/openid-configuration`  issuer, jwks_uri, token_endpoint, grant types;
- `GET  /oauth2/v1/keys`                    the JWKS: the current key and retired keys
  still within their grace period;
- `POST /oauth2/v1/token`                   form-encoded, the client authenticated by
  `client_id` + `client_secret` (or HTTP Basic); the secret is the sandbox token.
  `grant_type=client_credentials`: a machine consumer's token, `sub` the client id,
  `roles` from `scope` (space-separated role names; `admin` when absent).
  `grant_type=urn:psgraph:params:grant-type:persona` (the demo grant): a token for a named
  person: `sub`, `role`, and optionally `client` (a Client global id) and `resource`
  (a Resource global id), which become the `client_id` and `resource_id` claims.
  Both take `audience` (default `psgraph`) and `ttl` (seconds; negative gives an already
  expired token, for tests). Errors in the OAuth 2.0 shape `{"error", "error_description"}`.

Beside the shared admin surface, `POST /_sandbox/rotate {"alg": "RS256"|"ES256",
"grace_s": s}` makes a new current signing key and keeps the old ones published for the
grace period. The keys survive `/_sandbox/reset` (a reset must not invalidate tokens in use).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandboxes.base import Sandbox
from sandboxes.idp.keys import KeyRing
from sandboxes.responses import JSONResponse
from sandboxes.world.model import World

ROLES = frozenset({"admin", "finance", "delivery", "consultant", "client"})
PERSONA_GRANT = "urn:psgraph:params:grant-type:persona"
DEFAULT_AUDIENCE = "psgraph"
DEFAULT_TTL_S = 3600
MAX_TTL_S = 7 * 24 * 3600
DISCOVERY = "/.well-known/openid-configuration"
KEYS = "/oauth2/v1/keys"
TOKEN = "/oauth2/v1/token"


class OAuthError(ValueError):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


class IdentityProviderSandbox(Sandbox):
    name = "idp"
    title = "Okta-shaped identity provider"

    def __init__(self, world: World, *, token: str) -> None:
        self.keys = KeyRing()
        super().__init__(world, token=token)

    def seed(self, world: World) -> None:
        """Nothing to rebuild: the directory is the demo grant's claims, and the keys stay."""

    def touch(self, entity: str, ids: Sequence[str]) -> int:
        return 0

    def error_response(self, status: int, message: str, code: str) -> Response:
        return JSONResponse(
            {"error": code.lower(), "error_description": message}, status_code=status
        )

    def public_paths(self) -> frozenset[str]:
        # The token endpoint authenticates its clients itself; the rest is public by design.
        return frozenset({DISCOVERY, KEYS, TOKEN})

    def vendor_routes(self) -> Sequence[BaseRoute]:
        return [
            Route(DISCOVERY, self._discovery, methods=["GET"]),
            Route(KEYS, self._jwks, methods=["GET"]),
            Route(TOKEN, self._token, methods=["POST"]),
        ]

    def admin_routes(self) -> Sequence[BaseRoute]:
        return [Route("/_sandbox/rotate", self._rotate, methods=["POST"])]

    async def _discovery(self, request: Request) -> Response:
        issuer = _issuer(request)
        return JSONResponse(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}{KEYS}",
                "token_endpoint": f"{issuer}{TOKEN}",
                "grant_types_supported": ["client_credentials", PERSONA_GRANT],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(
            {"keys": [key.jwk() for key in self.keys.published()]},
            headers={"Cache-Control": "max-age=300"},
        )

    async def _rotate(self, request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        alg = body.get("alg", "RS256")
        if alg not in ("RS256", "ES256"):
            return JSONResponse({"error": f"unsupported alg {alg!r}"}, status_code=400)
        key = self.keys.rotate(alg, body.get("grace_s"))
        return JSONResponse({"kid": key.kid, "alg": key.alg, "keys": len(self.keys.published())})

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        try:
            client = self._authenticated_client(request, form)
            claims = _claims(form, client)
        except OAuthError as error:
            return JSONResponse(
                {"error": error.error, "error_description": str(error)}, status_code=error.status
            )
        now = int(time.time())
        ttl = _ttl(form.get("ttl"))
        claims.update(
            iss=_issuer(request),
            aud=str(form.get("audience") or DEFAULT_AUDIENCE),
            iat=now,
            nbf=now if ttl > 0 else now + ttl - 60,
            exp=now + ttl,
            jti=uuid.uuid4().hex,
            cid=client,
        )
        key = self.keys.current
        token = jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": max(ttl, 0)}
        )

    def _authenticated_client(self, request: Request, form: dict[str, Any]) -> str:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        if not client_id or secret != self.token:
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return str(client_id)


def _issuer(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _ttl(raw: Any) -> int:
    if raw in (None, ""):
        return DEFAULT_TTL_S
    try:
        ttl = int(raw)
    except ValueError:
        raise OAuthError("invalid_request", "ttl must be a whole number of seconds") from None
    if not -MAX_TTL_S <= ttl <= MAX_TTL_S:
        raise OAuthError("invalid_request", f"ttl must be within +/-{MAX_TTL_S} s")
    return ttl


def _claims(form: dict[str, Any], client: str) -> dict[str, Any]:
    grant = form.get("grant_type")
    if grant == "client_credentials":
        roles = str(form.get("scope") or "admin").split()
        _check_roles(roles)
        return {"sub": client, "roles": roles}
    if grant == PERSONA_GRANT:
        role = str(form.get("role") or "")
        _check_roles([role])
        claims: dict[str, Any] = {"sub": str(form.get("sub") or f"demo-{role}"), "roles": [role]}
        if form.get("client"):
            claims["client_id"] = str(form["client"])
        if form.get("resource"):
            claims["resource_id"] = str(form["resource"])
        if role == "client" and "client_id" not in claims:
            raise OAuthError("invalid_request", "a client persona needs `client`")
        if role == "consultant" and "resource_id" not in claims:
            raise OAuthError("invalid_request", "a consultant persona needs `resource`")
        return claims
    raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")


def _check_roles(roles: list[str]) -> None:
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles:
        raise OAuthError("invalid_scope", f"unknown roles {unknown}; choose from {sorted(ROLES)}")


SANDBOX = IdentityProviderSandbox
