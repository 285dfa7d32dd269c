"""GraphQL over HTTP at /graphql, on strawberry's ASGI view.

What this adds to strawberry's view:

- the request's `RequestContext`, built per request inside the running event loop;
- `application/graphql-response+json` when the client accepts it: then a request the
  server could not execute (a parse, validation or variables error) is answered 400 with
  no `data`; with `application/json` it stays 200, as older clients expect;
- a persisted document's `documentId` (schema.trusted) read from the body or the URL;
- an operation refused for the caller's rate is answered 429 with Retry-After;
- a mutation sent with GET is refused with 405 (only queries may be sent with GET);
- GraphiQL for browsers when enabled, from assets installed with the package (see
  gateway/graphiql.py);
- WebSocket connections authenticated on `connection_init` (its payload's
  `Authorization: Bearer <jwt>`); a connection without an acceptable token is closed
  with 4403 (HTTP requests are checked before they get here: `gateway.auth.guard`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gateway.auth.tokens import TokenVerifier, UnauthenticatedError
from gateway.graphiql import graphiql_html
from resolvers.context import RequestContext
from schema.trusted import DOCUMENT_ID

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
CONTEXT = "graphql_context"  # the request's RequestContext, in its ASGI state

MakeContext = Callable[[Request | WebSocket], Awaitable[RequestContext]]


class TextFrames(ASGIWebSocketAdapter):
    """Sends each WebSocket message as a text frame: the GraphQL over WebSocket protocol
    allows no binary frames, and strawberry sends bytes as binary (our encoder gives bytes)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


def negotiate(accept: str) -> str:
    """The response media type for an Accept header: graphql-response+json when the client
    ranks it at least as high as application/json, application/json otherwise (also for a
    missing Accept or */*, as clients from before the spec expect)."""
    ranks: dict[str, float] = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranks[media.strip().lower()] = max(quality, ranks.get(media.strip().lower(), 0.0))
    wanted = ranks.get(GRAPHQL_RESPONSE, 0.0)
    if wanted > 0 and wanted >= ranks.get(JSON, 0.0):
        return GRAPHQL_RESPONSE
    return JSON


def is_request_error(result: ExecutionResult) -> bool:
    """The server did not execute the operation: it did not parse or validate, or its
    variables did not fit."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def rate_limited(result: ExecutionResult) -> int | None:
    """The seconds to wait when the operation was refused for the caller's rate (not a
    source's: that error has a path and names the source)."""
    for error in result.errors or []:
        extensions = error.extensions or {}
        if extensions.get("code") == "RATE_LIMITED" and error.path is None:
            return int(extensions.get("retryAfter", 1))
    return None


class GraphQLView(GraphQL[RequestContext, None]):
    websocket_adapter_class = TextFrames

    def __init__(
        self,
        schema: BaseSchema,
        make_context: MakeContext,
        verifier: TokenVerifier,
        *,
        graphiql: bool = False,
    ) -> None:
        super().__init__(
            schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=True
        )
        self._make_context = make_context
        self._verifier = verifier

    async def on_ws_connect(self, context: RequestContext) -> None:
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        try:
            context.principal = await self._verifier.principal(
                header if isinstance(header, str) else None
            )
        except UnauthenticatedError as error:
            rejected: dict[str, object] = {"code": "UNAUTHENTICATED", "message": str(error)}
            raise ConnectionRejectionError(rejected) from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = PlainTextResponse(error.reason, status_code=error.status_code)
            if error.status_code == 405:
                response.headers["Allow"] = "POST" if request.method == "GET" else "GET, POST"
        finally:
            # Answered: release what it read, and take it off the request it refers to.
            context: RequestContext | None = scope.get("state", {}).pop(CONTEXT, None)
            if context is not None:
                context.release()
        await response(scope, receive, send)

    def encode_json(self, data: object) -> bytes:
        # Encoding the answer was a measurable share of a query's CPU with the standard
        # library; orjson does the same job several times faster.
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html())

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        context = await self._make_context(request)
        if isinstance(request, Request):  # an HTTP request: released once answered
            setattr(request.state, CONTEXT, context)
        return context

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response
        return sub_response

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        named = request.query_params.get(DOCUMENT_ID) is not None
        return not named and super().should_render_graphql_ide(request)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's reading, plus a persisted document's `documentId` (a body field,
        or a query parameter with GET), handed to the schema in the operation's
        extensions (schema.trusted resolves it)."""
        data = await super().parse_http_body(request)
        if isinstance(data, list) or data.query is not None:
            return data
        if request.method == "GET":
            requested: object = request.query_params.get(DOCUMENT_ID)
        else:
            body = json.loads(await request.get_body() or b"{}")
            requested = body.get(DOCUMENT_ID) if isinstance(body, dict) else None
        if isinstance(requested, str):
            data.extensions = {**(data.extensions or {}), DOCUMENT_ID: requested}
        return data

    async def execute_single(self, *args: object, **kwargs: object) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)  # type: ignore[arg-type]
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError):
                raise HTTPException(405, error.reason) from cause
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        media_type = negotiate(request.headers.get("accept", ""))
        sub_response: Response = request.state.sub_response
        sub_response.media_type = media_type
        retry_after = rate_limited(result)
        if retry_after is not None:
            sub_response.status_code = 429
            sub_response.headers["Retry-After"] = str(retry_after)
        elif media_type == GRAPHQL_RESPONSE and is_request_error(result):
            sub_response.status_code = 400
            data.pop("data", None)
        return data

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or JSON
        response.headers["content-type"] = f"{media_type}; charset=utf-8"
        return response
