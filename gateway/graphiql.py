"""GraphiQL from files installed with the package, so it renders with no network.

Strawberry's own page loads React and GraphiQL from a CDN; a gateway on a closed network
(or a demo on a train) would show a blank page. The files are vendored under
`gateway/static/graphiql/` (see VENDORED.md there).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql/static"


@cache
def graphiql_html() -> str:
    return (ASSETS / "index.html").read_text(encoding="utf-8")


def graphiql_assets() -> Mount:
    """The route serving GraphiQL's scripts and styles at ASSETS_PATH."""
    return Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS), name="graphiql-assets")
