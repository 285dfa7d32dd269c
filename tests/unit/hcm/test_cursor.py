"""The change cursor carries every worker's digest, compactly, and rejects impostors."""

from __future__ import annotations

import base64
import zlib

import pytest

from sources.hcm.cursor import decode_cursor, encode_cursor


def test_digests_survive_the_round_trip() -> None:
    digests = {f"{k:032x}": f"{k * 7919:012x}" for k in range(50)}

    assert decode_cursor(encode_cursor(digests)) == digests


def test_an_empty_population_has_a_cursor_too() -> None:
    assert decode_cursor(encode_cursor({})) == {}


def test_the_same_digests_make_the_same_cursor_whatever_their_order() -> None:
    forward = {"a": "1", "b": "2"}
    backward = {"b": "2", "a": "1"}

    assert encode_cursor(forward) == encode_cursor(backward)


def test_the_cursor_is_compact_and_url_safe() -> None:
    digests = {f"{k:032x}": f"{(k * 2654435761) % 2**48:012x}" for k in range(600)}

    cursor = encode_cursor(digests)

    assert len(cursor) < 600 * 40  # under 40 characters a worker, ids included
    assert set(cursor[3:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    )


def _packed(payload: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(zlib.compress(payload)).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("42", id="a-page-offset"),
        pytest.param("v2.abc", id="unknown-version"),
        pytest.param("v1.!!!", id="not-base64"),
        pytest.param("v1." + base64.urlsafe_b64encode(b"plain").decode(), id="not-zlib"),
        pytest.param(_packed(b"{not json"), id="not-json"),
        pytest.param(_packed(b"[1, 2]"), id="not-a-map"),
        pytest.param(_packed(b'{"a": 1}'), id="digest-not-a-string"),
    ],
)
def test_anything_else_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="HCM change cursor"):
        decode_cursor(cursor)
