"""GraphQL over Server-Sent Events (the graphql-sse protocol, "distinct connections" mode).

A request to the GraphQL endpoint that accepts `text/event-stream` runs its operation as a
stream: POST with the usual JSON body, or GET with `query`, `variables`, `operationName`
and `extensions` in the query string (queries and subscriptions only). Each result is an
`event: next` whose data is the GraphQL result; the end is `event: complete`. A request
that does not parse or validate is answered 400 with the errors as JSON, before any
stream. Closing the connection ends the operation. When the server stops, every open
stream ends at once with `complete` (`end_all`), as an operation that finished: a
graphql-sse client then asks again, elsewhere or later, rather than seeing its stream cut
off mid-body when the grace period runs out. Every other request goes to the wrapped app
(the ordinary GraphQL view).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse, validate
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.schema.base import BaseSchema
from strawberry.types import ExecutionResult

from resolvers.context import RequestContext

EVENT_STREAM = "text/event-stream"
KEEPALIVE_S = 12.0

MakeContext = Callable[[Request], Awaitable[RequestContext]]


class BadRequestError(ValueError):
    pass


def wants_event_stream(headers: Headers) -> bool:
    return EVENT_STREAM in headers.get("accept", "").lower()


class GraphQLOverSSE:
    def __init__(
        self,
        schema: BaseSchema,
        make_context: MakeContext,
        fallback: ASGIApp,
        *,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self._schema = schema
        self._make_context = make_context
        self._fallback = fallback
        self._keepalive_s = keepalive_s
        self._open: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ended = False

    def end_all(self) -> None:
        """End every open stream, and any opened from now on, with `complete`. Safe to
        call from a signal handler: the work is handed to the event loop."""
        if self._loop is not None:
            with suppress(RuntimeError):  # a loop already closed has no stream left open
                self._loop.call_soon_threadsafe(self._end_all)

    def _end_all(self) -> None:
        self._ended = True
        for queue in self._open:
            queue.put_nowait(("end", None))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not wants_event_stream(Headers(scope=scope)):
            await self._fallback(scope, receive, send)
            return
        self._loop = asyncio.get_running_loop()
        request = Request(scope, receive)
        response = await self._respond(request)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            params = await _params(request)
            errors = self._check(params, request.method)
        except BadRequestError as error:
            return JSONResponse({"errors": [{"message": str(error)}]}, status_code=400)
        if errors:
            return JSONResponse({"errors": [e.formatted for e in errors]}, status_code=400)
        context = await self._make_context(request)
        results = await self._schema.stream(
            params["query"],
            variable_values=params.get("variables"),
            context_value=context,
            operation_name=params.get("operationName"),
            operation_extensions=params.get("extensions"),
        )
        return StreamingResponse(
            self._frames(results, context),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def _check(self, params: dict[str, Any], method: str) -> list[GraphQLError]:
        try:
            document = parse(params["query"])
        except GraphQLError as error:
            return [error]
        errors = validate(self._schema._schema, document)  # type: ignore[attr-defined]
        if errors:
            return list(errors)
        if method == "GET" and _operation(document, params.get("operationName")) == (
            OperationType.MUTATION
        ):
            raise BadRequestError("mutations cannot be sent with GET")
        return []

    async def _frames(
        self, results: AsyncIterator[Any], context: RequestContext
    ) -> AsyncIterator[str]:
        """`next` frames with a keep-alive comment when idle, then `complete`. The
        operation runs in its own task so idling never cancels it mid-step."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        if self._ended:
            queue.put_nowait(("end", None))
        self._open.add(queue)

        async def pump() -> None:
            try:
                async for result in results:
                    await queue.put(("next", result))
            finally:
                await queue.put(("complete", None))

        pumping = asyncio.create_task(pump())
        try:
            while True:
                try:
                    kind, result = await asyncio.wait_for(queue.get(), self._keepalive_s)
                except TimeoutError:
                    yield ":\n\n"
                    continue
                if kind == "complete":
                    pumping.result()  # surface what ended the stream, if it failed
                    yield "event: complete\ndata:\n\n"
                    return
                if kind == "end":  # the server is stopping
                    yield "event: complete\ndata:\n\n"
                    return
                yield f"event: next\ndata: {json.dumps(_formatted(result), default=str)}\n\n"
        finally:
            self._open.discard(queue)
            pumping.cancel()
            with suppress(asyncio.CancelledError):
                await pumping
            aclose = getattr(results, "aclose", None)
            if aclose is not None:
                await aclose()
            context.release()


async def _params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if raw.get(name):
                try:
                    raw[name] = json.loads(raw[name])
                except ValueError:
                    raise BadRequestError(f"{name} is not JSON") from None
    else:
        try:
            raw = await request.json()
        except ValueError:
            raise BadRequestError("the body is not JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("query"), str):
        raise BadRequestError("a GraphQL request needs a 'query' string")
    for name in ("variables", "extensions"):
        if raw.get(name) is not None and not isinstance(raw[name], dict):
            raise BadRequestError(f"{name} must be an object")
    return raw


def _operation(document: Any, name: str | None) -> OperationType | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            return definition.operation
    return None


def _formatted(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body
