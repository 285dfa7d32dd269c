"""`GET /visibility`: the live business page, one HTML file with its script and styles
inline (package data: no CDN, nothing fetched beyond the gateway). Everything it shows it
reads through the public GraphQL API: queries over POST /graphql, live updates as GraphQL
subscriptions over SSE on the same endpoint."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse

PAGE = "visibility.html"


@cache
def _html() -> str:
    return files("gateway.visibility").joinpath("assets").joinpath(PAGE).read_text(encoding="utf-8")


async def visibility_page(request: Request) -> HTMLResponse:
    # The page's own script and style only; it talks to this origin alone.
    policy = (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:"
    )
    return HTMLResponse(_html(), headers={"Content-Security-Policy": policy})
