"""A Workday-shaped HCM server: staffing v6 workers behind refresh-token OAuth.

Vendor routes (one tenant, `psgraph_demo` unless told otherwise):

- `POST /ccx/oauth2/{tenant}/token`  form `grant_type=refresh_token&refresh_token=...`
  -> `{"access_token", "token_type": "Bearer", "expires_in"}`; the refresh token is the
  sandbox token; errors in the OAuth 2.0 shape `{"error", "error_description"}`;
- `GET /ccx/api/staffing/v6/{tenant}/workers?limit=&offset=&search=`
  -> `{"total": N, "data": [worker, ...]}`; limit 1..100 (default 20), offset from 0;
  `search` matches the start of a word of the worker's name;
- `GET /ccx/api/staffing/v6/{tenant}/workers/{id}` -> one worker;
- `PATCH /ccx/api/staffing/v6/{tenant}/workers/{id}` `{"isActive": bool,
  "scheduledWeeklyHours": n}` -> the worker as changed: in Workday these change through
  business processes (a termination, a change of hours); the sandbox takes their outcome.

Like Workday's REST API there is no batch-by-id and no modified-since filter. Data routes
take only access tokens the token route issued, and those expire. Errors are Workday's
`{"error": message, "code": code}`; an unknown tenant is a 404.

Beside the shared admin surface, `/_sandbox/tokens` reports (`GET`), sets the lifetime of
newly issued access tokens (`POST {"access_token_lifetime_s": s}`) and revokes every
issued access token (`DELETE`), so clients' refresh paths can be exercised.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandboxes.base import Sandbox
from sandboxes.hcm.seed import workday_timestamp, workers_from_people
from sandboxes.responses import JSONResponse
from sandboxes.world.model import World
from sources.hcm.search import matches_name_search
from sources.records import SourceSystem

DEFAULT_TENANT = "psgraph_demo"
DEFAULT_ACCESS_TOKEN_LIFETIME = 3600.0  # seconds
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CHANGEABLE = frozenset({"isActive", "scheduledWeeklyHours"})

_TOKEN_PATH = re.compile(r"^/ccx/oauth2/[^/]+/token$")


class AccessTokens:
    """The access tokens the OAuth route issued, each valid for `lifetime` seconds."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> tuple[str, float]:
        now = self._clock()
        self._expiry = {t: at for t, at in self._expiry.items() if at > now}
        token = secrets.token_urlsafe(24)
        self._expiry[token] = now + self.lifetime
        return token, self.lifetime

    def valid(self, token: str) -> bool:
        expires_at = self._expiry.get(token)
        return expires_at is not None and self._clock() < expires_at

    def active(self) -> int:
        now = self._clock()
        return sum(1 for at in self._expiry.values() if at > now)

    def revoke_all(self) -> None:
        self._expiry.clear()


class _BadParameterError(ValueError):
    pass


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadParameterError(f"{name} must be an integer, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _BadParameterError(f"{name} must be {bounds}, not {value}")
    return value


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


class HcmSandbox(Sandbox):
    system = SourceSystem.HCM
    name = "hcm"
    title = "Workday-shaped HCM"

    def __init__(
        self,
        world: World,
        *,
        token: str,
        tenant: str = DEFAULT_TENANT,
        access_token_lifetime: float = DEFAULT_ACCESS_TOKEN_LIFETIME,
    ) -> None:
        self.tenant = tenant
        self.seeded_token_lifetime = access_token_lifetime
        self.access_tokens = AccessTokens(access_token_lifetime)
        self.workers: dict[str, dict[str, Any]] = {}
        super().__init__(world, token=token)

    # --- state -----------------------------------------------------------------------

    def seed(self, world: World) -> None:
        self.workers = workers_from_people(world.people)
        self.access_tokens = AccessTokens(self.seeded_token_lifetime)

    def touch(self, entity: str, ids: Sequence[str]) -> int:
        if entity != "worker":
            raise KeyError(entity)
        found = 0
        for worker_id in ids:
            worker = self.workers.get(worker_id)
            if worker is None:
                continue
            worker["lastUpdated"] = workday_timestamp(self.clock.tick())
            found += 1
            self.changed("worker.updated", {"id": worker_id, "changed_fields": ["lastUpdated"]})
        return found

    # --- auth and errors -------------------------------------------------------------

    def error_response(self, status: int, message: str, code: str) -> Response:
        return JSONResponse({"error": message, "code": code}, status_code=status)

    def public_paths(self) -> frozenset[str]:
        return frozenset({f"/ccx/oauth2/{self.tenant}/token"})

    def check_auth(self, request: Request) -> Response | None:
        if _TOKEN_PATH.match(request.url.path):
            return None  # the token route checks its own grant, for any tenant name
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.access_tokens.valid(value.strip()):
            return None
        response = self.error_response(401, "invalid or expired access token", "INVALID_AUTH")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    def _unknown_tenant(self, request: Request) -> Response | None:
        tenant = request.path_params["tenant"]
        if tenant == self.tenant:
            return None
        return self.error_response(404, f"tenant {tenant!r} not found", "INVALID_TENANT")

    # --- routes ----------------------------------------------------------------------

    def vendor_routes(self) -> Sequence[BaseRoute]:
        api = "/ccx/api/staffing/v6/{tenant}"
        return [
            Route("/ccx/oauth2/{tenant}/token", self._token, methods=["POST"]),
            Route(f"{api}/workers", self._list_workers, methods=["GET"]),
            Route(f"{api}/workers/{{worker_id}}", self._get_worker, methods=["GET"]),
            Route(f"{api}/workers/{{worker_id}}", self._change_worker, methods=["PATCH"]),
        ]

    def admin_routes(self) -> Sequence[BaseRoute]:
        return [Route("/_sandbox/tokens", self._tokens, methods=["GET", "POST", "DELETE"])]

    async def _token(self, request: Request) -> Response:
        """Exchange a refresh token for an access token (OAuth 2.0 refresh_token grant)."""
        if (missing := self._unknown_tenant(request)) is not None:
            return missing
        form = await request.form()
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "only refresh_token is supported")
        if form.get("refresh_token") != self.token:
            return _oauth_error(400, "invalid_grant", "refresh token is invalid or revoked")
        access_token, lifetime = self.access_tokens.issue()
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": math.ceil(lifetime),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def _list_workers(self, request: Request) -> Response:
        """List workers, `limit`/`offset` paged, optionally searched by name."""
        if (missing := self._unknown_tenant(request)) is not None:
            return missing
        try:
            limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
            offset = _int_param(request, "offset", 0, 0, None)
        except _BadParameterError as error:
            return self.error_response(400, str(error), "INVALID_PARAMETER")
        workers = list(self.workers.values())
        search = request.query_params.get("search")
        if search:
            workers = [w for w in workers if matches_name_search(w["descriptor"], search)]
        page = workers[offset : offset + limit]
        return JSONResponse(
            {"total": len(workers), "data": [self._with_href(request, w) for w in page]}
        )

    async def _get_worker(self, request: Request) -> Response:
        """Get one worker by Workday ID."""
        if (missing := self._unknown_tenant(request)) is not None:
            return missing
        worker_id = request.path_params["worker_id"]
        worker = self.workers.get(worker_id)
        if worker is None:
            return self.error_response(404, f"worker {worker_id!r} not found", "NOT_FOUND")
        return JSONResponse(self._with_href(request, worker))

    async def _change_worker(self, request: Request) -> Response:
        """The outcome of a termination or a change of scheduled hours."""
        if (missing := self._unknown_tenant(request)) is not None:
            return missing
        worker = self.workers.get(request.path_params["worker_id"])
        if worker is None:
            return self.error_response(404, "worker not found", "NOT_FOUND")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body or set(body) - CHANGEABLE:
            fields = ", ".join(sorted(CHANGEABLE))
            return self.error_response(400, f"send an object with {fields}", "INVALID_PARAMETER")
        active, hours = body.get("isActive", True), body.get("scheduledWeeklyHours", 0)
        if not isinstance(active, bool) or not isinstance(hours, int | float) or hours < 0:
            return self.error_response(
                400, "isActive is a boolean, hours >= 0", "INVALID_PARAMETER"
            )
        worker.update(body)
        worker["lastUpdated"] = workday_timestamp(self.clock.tick())
        self.changed("worker.updated", {"id": worker["id"], "changed_fields": sorted(body)})
        return JSONResponse(self._with_href(request, worker))

    def _with_href(self, request: Request, worker: dict[str, Any]) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        href = f"{base}/ccx/api/staffing/v6/{self.tenant}/workers/{worker['id']}"
        return {**worker, "href": href}

    async def _tokens(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            lifetime = body.get("access_token_lifetime_s") if isinstance(body, dict) else None
            if not isinstance(lifetime, int | float) or lifetime <= 0:
                return JSONResponse(
                    {"error": "access_token_lifetime_s must be a positive number"},
                    status_code=400,
                )
            self.access_tokens.lifetime = float(lifetime)
        elif request.method == "DELETE":
            self.access_tokens.revoke_all()
        return JSONResponse(
            {
                "access_token_lifetime_s": self.access_tokens.lifetime,
                "active": self.access_tokens.active(),
            }
        )


SANDBOX = HcmSandbox
