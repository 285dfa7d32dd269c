"""Bounds on request bodies, enforced before anything parses or verifies them.

`BodyLimits` wraps the ASGI app. For each path prefix it is given a byte limit; a body
there is:

    413 PAYLOAD_TOO_LARGE  declared (Content-Length) or streamed past the limit: refused
                           as soon as that is known. A declared body up to `DRAIN_FACTOR`
                           times the limit is read and dropped first, so the answer is
                           not lost to a reset and the connection stays usable; past
                           that, or streamed without a length, it is refused unread and
                           the connection closed (its unread bytes cannot be skipped);
    400 INVALID_ENCODING   not UTF-8;
    400 INVALID_JSON       a JSON body (by its media type, or any webhook) that does not parse;
    400 JSON_TOO_DEEP      JSON nested deeper than the depth limit;
    400 INVALID_REQUEST    JSON of the wrong shape for the path (a GraphQL request that
                           is not an object with a string `query`, say).

Otherwise the body, read once, is handed on unchanged. Errors have the GraphQL shape
(`{"errors": [{"message", "extensions": {"code"}}]}`) on every path, so a client reads
them one way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
INVALID_ENCODING = "INVALID_ENCODING"
INVALID_JSON = "INVALID_JSON"
JSON_TOO_DEEP = "JSON_TOO_DEEP"
INVALID_REQUEST = "INVALID_REQUEST"

ShapeCheck = Callable[[Any], None]  # raises RefusedError when the JSON has the wrong shape


@dataclass(frozen=True)
class BodyLimit:
    prefix: str  # a path prefix: "/graphql", "/webhooks/"
    max_bytes: int
    always_json: bool = False  # parse as JSON whatever the media type says
    shape: ShapeCheck | None = None


# A declared body up to this many times the limit is drained before the 413 is sent.
DRAIN_FACTOR = 4


class RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: int) -> None:
        super().__init__(message)
        self.status, self.code, self.details = status, code, details
        self.close = False  # the request's body was left unread

    def response(self) -> JSONResponse:
        error = {"message": str(self), "extensions": {"code": self.code, **self.details}}
        headers = {"connection": "close"} if self.close else None
        return JSONResponse({"errors": [error]}, status_code=self.status, headers=headers)


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value`, walked without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def graphql_request(value: Any) -> None:
    """The GraphQL-over-HTTP request shape: an object (a list of them: a batch) with a
    string `query` or `documentId`, and `variables` and `extensions` objects if present."""
    for request in value if isinstance(value, list) else [value]:
        if not isinstance(request, dict):
            raise RefusedError(400, INVALID_REQUEST, "A GraphQL request is a JSON object.")
        expected = {
            "query": str,
            "documentId": str,
            "operationName": str,
            "variables": dict,
            "extensions": dict,
        }
        for key, kind in expected.items():
            found = request.get(key)
            if found is not None and not isinstance(found, kind):
                noun = "a string" if kind is str else "an object"
                raise RefusedError(400, INVALID_REQUEST, f"`{key}` must be {noun}.")


def check_json(body: bytes, max_depth: int) -> Any:
    try:
        value = json.loads(body)
    except RecursionError:
        depth = max_depth + 1  # deeper than the interpreter's stack: certainly too deep
    except ValueError as error:
        raise RefusedError(400, INVALID_JSON, f"The body is not valid JSON: {error}.") from None
    else:
        depth = json_depth(value)
    if depth > max_depth:
        raise RefusedError(
            400,
            JSON_TOO_DEEP,
            f"The body's JSON nests more than {max_depth} levels deep.",
            limit=max_depth,
        )
    return value


class BodyLimits:
    """The ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, limits: Sequence[BodyLimit], max_json_depth: int) -> None:
        self.app = app
        self.limits = limits
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive, limit)
        except RefusedError as refused:
            await refused.response()(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _limit(self, scope: Scope) -> BodyLimit | None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return None
        path: str = scope["path"]
        return next((limit for limit in self.limits if path.startswith(limit.prefix)), None)

    async def _read(self, scope: Scope, receive: Receive, limit: BodyLimit) -> bytes:
        headers = Headers(scope=scope)
        too_large = RefusedError(
            413,
            PAYLOAD_TOO_LARGE,
            f"The body is larger than {limit.max_bytes} bytes, the most accepted here.",
            limit=limit.max_bytes,
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            if int(declared) <= limit.max_bytes * DRAIN_FACTOR:
                await _drain(receive)
            else:
                too_large.close = True
            raise too_large
        too_large.close = True
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees what arrived
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit.max_bytes:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RefusedError(
                400, INVALID_ENCODING, f"The body is not UTF-8 (byte {error.start})."
            ) from None
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and (limit.always_json or media == "application/json"):
            value = check_json(body, self.max_json_depth)
            if limit.shape is not None:
                limit.shape(value)
        return body


async def _drain(receive: Receive) -> None:
    """Read the body to its end, keeping none of it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the client's own messages (a disconnect, say)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
