"""The sandboxes' JSON responses, encoded by orjson.

A scan of the gateway reads tens of thousands of records page by page; with the
standard library's encoder the simulators' encoding was a large share of every
integration test that lists (and the vendors they stand for are not written in Python).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse


class JSONResponse(_StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
