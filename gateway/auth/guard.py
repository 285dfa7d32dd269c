"""The GraphQL endpoint's door: no request reaches the schema without a valid bearer token.

HTTP (POST, GET and SSE alike) is checked here, before the GraphQL view runs: a request
without an acceptable token is answered 401 with `extensions.code = "UNAUTHENTICATED"`,
and the caller's `Principal` is put in the request's state for the context to pick up.
WebSocket connections are checked on `connection_init` by the view (`GraphQLView`), from
the payload's `Authorization` entry. A browser asking for GraphiQL's page (no operation
in it) passes when GraphiQL is enabled: the page holds no data and sends its own headers.
"""

from __future__ import annotations

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.tokens import TokenVerifier, UnauthenticatedError

PRINCIPAL = "principal"  # the key in the request's state


def unauthenticated_body(reason: str) -> dict[str, object]:
    return {
        "data": None,
        "errors": [{"message": reason, "extensions": {"code": "UNAUTHENTICATED"}}],
    }


class BearerGuard:
    def __init__(self, app: ASGIApp, verifier: TokenVerifier, *, graphiql: bool) -> None:
        self._app = app
        self._verifier = verifier
        self._graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._asks_for_graphiql(scope):
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            principal = await self._verifier.principal(headers.get("authorization"))
        except UnauthenticatedError as error:
            response = JSONResponse(
                unauthenticated_body(str(error)),
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL] = principal
        await self._app(scope, receive, send)

    def _asks_for_graphiql(self, scope: Scope) -> bool:
        if not self._graphiql or scope["method"] != "GET":
            return False
        accept = Headers(scope=scope).get("accept", "")
        return "text/html" in accept and "query" not in QueryParams(scope["query_string"])
