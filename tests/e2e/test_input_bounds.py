"""Bounds on what a client may send, against the gateway in a process of its own: every
bad body is answered with a 4xx and a code, before anything parses or verifies it, and the
connection it came on keeps working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from tests.e2e.gateway_process import GatewayProcess, gateway_process

MB = 1024 * 1024
QUERY = "{ clients(first: 1) { totalCount } }"


@pytest.fixture(scope="module")
def gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    with gateway_process(demo_settings, sandboxes, tmp_path_factory.mktemp("bounds")) as gw:
        yield gw


@pytest.fixture
async def http(gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=gateway.headers, timeout=60
    ) as client:
        yield client


async def post_graphql(
    http: httpx.AsyncClient, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return await http.post("/graphql", content=content, headers={"content-type": content_type})


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_a_graphql_body_declared_too_large_is_refused_unread(http):
    body = json.dumps({"query": QUERY, "variables": {"pad": "x" * (2 * MB)}}).encode()

    response = await post_graphql(http, body)

    assert response.status_code == 413
    assert code(response) == "PAYLOAD_TOO_LARGE"
    assert response.json()["errors"][0]["extensions"]["limit"] == MB


async def test_a_webhook_body_too_large_is_refused_before_its_signature_is_checked(http, gateway):
    body = json.dumps({"type": "opportunity.updated", "pad": "x" * 300_000}).encode()

    response = await http.post("/webhooks/crm", content=body, headers=gateway.signed(body))

    assert response.status_code == 413
    assert code(response) == "PAYLOAD_TOO_LARGE"


async def test_a_streamed_body_is_cut_off_long_before_it_ends(gateway):
    """300 MB without a Content-Length: the gateway answers (or hangs up) after about a
    megabyte, and its memory does not grow by the upload's size."""
    total = 300 * MB
    chunk = b"x" * (256 * 1024)
    sent = 0

    async def upload() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        while sent < total:
            sent += len(chunk)
            yield chunk
        yield b'"}}'

    before = gateway.rss_bytes()
    async with httpx.AsyncClient(headers=gateway.headers, timeout=60) as client:
        try:
            response = await client.post(
                gateway.graphql, content=upload(), headers={"content-type": "application/json"}
            )
            status: int | None = response.status_code
        except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
            status = None  # hung up on mid-upload: refused all the same

    assert sent < total // 4
    assert status in (413, None)
    assert gateway.rss_bytes() - before < 50 * MB
    assert httpx.get(f"{gateway.url}/healthz", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("content", "status", "expected"),
    [
        pytest.param(b'{"query": "\xff\xfe{ x }"}', 400, "INVALID_ENCODING", id="not-utf8"),
        pytest.param(b'{"query": ', 400, "INVALID_JSON", id="truncated-json"),
        pytest.param(b"{'query': 1}", 400, "INVALID_JSON", id="not-json"),
        pytest.param(
            json.dumps({"query": QUERY, "variables": {"v": json.loads(nested(40))}}).encode(),
            400,
            "JSON_TOO_DEEP",
            id="deep-variables",
        ),
        pytest.param(
            ('{"query": "' + QUERY + '", "variables": {"v": ' + nested(100_000) + "}}").encode(),
            400,
            "JSON_TOO_DEEP",
            id="deeper-than-the-stack",
        ),
    ],
)
async def test_a_bad_graphql_body_is_a_coded_400(http, content, status, expected):
    response = await post_graphql(http, content)

    assert response.status_code == status
    assert code(response) == expected


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[]", id="array"),
        pytest.param(b'"query"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b'{"query": 5}', id="query-not-a-string"),
        pytest.param(b'{"query": "{ __typename }", "variables": 5}', id="variables-not-an-object"),
        pytest.param(b'{"query": "{ __typename }", "operationName": []}', id="bad-operation-name"),
        pytest.param(b'{"query": "{ __typename }", "extensions": "x"}', id="bad-extensions"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_odd_json_is_a_client_error_not_a_server_error(http, content):
    response = await post_graphql(http, content)

    assert 400 <= response.status_code < 500, response.text


async def test_a_correctly_signed_webhook_nested_too_deep_is_a_coded_400(http, gateway):
    body = ('{"type": "opportunity.updated", "data": ' + nested(50_000) + "}").encode()

    response = await http.post("/webhooks/crm", content=body, headers=gateway.signed(body))

    assert response.status_code == 400
    assert code(response) == "JSON_TOO_DEEP"


async def test_a_webhook_that_is_not_utf8_is_a_coded_400(http, gateway):
    body = b'{"type": "opportunity.updated", "data": {"id": "\xc3\x28"}}'

    response = await http.post("/webhooks/crm", content=body, headers=gateway.signed(body))

    assert response.status_code == 400
    assert code(response) == "INVALID_ENCODING"


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    body: bytes,
    headers: dict[str, str],
) -> tuple[int, dict[str, str]]:
    """One POST /graphql on an open connection, its status and headers; the body is read
    to its end so the next request can follow on the same connection."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + f"{extra}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split()[1]), headers


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b'{"query": ', id="bad-json"),
        pytest.param(b'{"query": "\xff"}', id="not-utf8"),
        pytest.param(('{"variables": {"v": ' + nested(100) + "}}").encode(), id="too-deep"),
        pytest.param(b'{"query": "{ nope }"}', id="invalid-query"),
    ],
)
async def test_the_connection_keeps_working_after_an_error_response(gateway, bad):
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        status, headers = await exchange(reader, writer, bad, gateway.headers)
        assert status < 500
        assert headers.get("connection") != "close"

        status, _ = await exchange(
            reader, writer, json.dumps({"query": QUERY}).encode(), gateway.headers
        )
        assert status == 200
    finally:
        writer.close()
