"""The change cursor: every worker's content digest as of one snapshot, in one string.

Workday's REST API cannot say what changed since a time, so a change scan compares a
fresh snapshot with the digests the cursor carries: changed or new workers differ, deleted
ones are missing. The cursor is `v1.` + urlsafe base64 of zlib-compressed JSON
`{worker id: digest}`; opaque to callers, self-contained (nothing stored on our side).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping

VERSION = "v1."


def encode_cursor(digests: Mapping[str, str]) -> str:
    payload = json.dumps(dict(digests), separators=(",", ":"), sort_keys=True).encode()
    return VERSION + base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode("ascii")


def decode_cursor(cursor: str) -> dict[str, str]:
    """The digests in `cursor`; ValueError when it is not a cursor this module made."""
    if not cursor.startswith(VERSION):
        raise ValueError("not an HCM change cursor")
    try:
        payload = zlib.decompress(base64.urlsafe_b64decode(cursor[len(VERSION) :]))
        digests = json.loads(payload)
    except (binascii.Error, zlib.error, ValueError) as error:
        raise ValueError(f"corrupt HCM change cursor: {error}") from None
    if not isinstance(digests, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in digests.items()
    ):
        raise ValueError("corrupt HCM change cursor: not a digest map")
    return digests
