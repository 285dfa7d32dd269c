"""The sender: what a source call needs of an HTTP client — base URL, default headers,
timeouts, an auth flow — and nothing a source call does not (redirects, cookies)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import httpx

from sources.sender import Sender, parsed_url

Seen = list[httpx.Request]


def sender(seen: Seen, answer: httpx.Response | None = None, **kwargs: object) -> Sender:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer if answer is not None else httpx.Response(200, json={"ok": True})

    options: dict[str, object] = {
        "auth": None,
        "timeout": httpx.Timeout(7.0, connect=2.0),
        "headers": {"User-Agent": "psgraph-test"},
        **kwargs,
    }
    return Sender("http://vendor.test/api/v2/", httpx.MockTransport(handle), **options)  # type: ignore[arg-type]


async def test_a_path_goes_under_the_base_url_with_its_query() -> None:
    seen: Seen = []
    response = await sender(seen).request("GET", "/projects", params={"page": 2, "q": "a b"})
    assert str(seen[0].url) == "http://vendor.test/api/v2/projects?page=2&q=a+b"
    assert response.json() == {"ok": True}
    assert response.request is seen[0]


async def test_an_absolute_url_is_sent_as_it_is() -> None:
    seen: Seen = []
    await sender(seen).request("GET", "https://elsewhere.test/next?cursor=x")
    assert str(seen[0].url) == "https://elsewhere.test/next?cursor=x"


async def test_every_request_carries_the_default_headers_and_the_timeouts() -> None:
    seen: Seen = []
    await sender(seen).request("POST", "items", json={"a": 1})
    sent = seen[0]
    assert sent.headers["User-Agent"] == "psgraph-test"
    assert sent.headers["Accept"] == "*/*"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.extensions["timeout"] == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}


async def test_a_call_s_own_headers_replace_the_defaults_whatever_their_case() -> None:
    seen: Seen = []
    await sender(seen).request("GET", "x", headers={"user-agent": "other", "X-Trace": "t"})
    assert seen[0].headers.get_list("User-Agent") == ["other"]
    assert seen[0].headers["X-Trace"] == "t"


async def test_a_redirect_is_answered_not_followed_and_no_cookie_is_kept() -> None:
    seen: Seen = []
    moved = httpx.Response(302, headers={"Location": "/elsewhere", "Set-Cookie": "s=1; Path=/"})
    client = sender(seen, moved)
    first = await client.request("GET", "a")
    await client.request("GET", "b")
    assert first.status_code == 302
    assert [request.url.path for request in seen] == ["/api/v2/a", "/api/v2/b"]
    assert "Cookie" not in seen[1].headers


class RefreshOnce(httpx.Auth):
    """Sends with a stale token, and on a 401 fetches a fresh one and resends."""

    def __init__(self) -> None:
        self.token = "stale"

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            token = yield httpx.Request("POST", "http://vendor.test/oauth/token")
            self.token = token.json()["access_token"]
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


async def test_an_auth_flow_may_fetch_a_token_and_resend() -> None:
    seen: Seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "fresh"})
        if request.headers["Authorization"] != "Bearer fresh":
            return httpx.Response(401, json=[{"errorCode": "INVALID_SESSION_ID"}])
        return httpx.Response(200, json={"rows": []})

    client = Sender(
        "http://vendor.test/api",
        httpx.MockTransport(handle),
        auth=RefreshOnce(),
        timeout=httpx.Timeout(5.0),
        headers={},
    )
    response = await client.request("GET", "/rows")
    assert response.json() == {"rows": []}
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", "/api/rows"),
        ("POST", "/oauth/token"),
        ("GET", "/api/rows"),
    ]
    assert seen[1].extensions["timeout"]["read"] == 5.0  # the flow's own request is bounded too


async def test_a_url_asked_for_again_is_parsed_once() -> None:
    seen: Seen = []
    client = sender(seen)
    await client.request("GET", "projects", params={"page": 1, "ids": ["a", "b"]})
    hits = parsed_url.cache_info().hits
    await client.request("GET", "projects", params={"page": 1, "ids": ["a", "b"]})
    assert parsed_url.cache_info().hits == hits + 1
    assert str(seen[1].url) == "http://vendor.test/api/v2/projects?page=1&ids=a&ids=b"


async def test_params_are_added_to_a_url_s_own_query() -> None:
    seen: Seen = []
    await sender(seen).request("GET", "https://elsewhere.test/next?cursor=x", params={"n": 2})
    assert str(seen[0].url) == "https://elsewhere.test/next?cursor=x&n=2"


async def test_a_json_body_is_utf8_json_and_a_call_s_own_media_type_stays() -> None:
    seen: Seen = []
    client = sender(seen)
    await client.request("POST", "items", json={"name": "Zoë", "ids": (1, 2)})
    await client.request(
        "POST", "items", json={"a": 1}, headers={"content-type": "application/vnd.x+json"}
    )
    assert json.loads(seen[0].content.decode("utf-8")) == {"name": "Zoë", "ids": [1, 2]}
    assert seen[0].headers["Content-Type"] == "application/json"
    assert seen[1].headers.get_list("Content-Type") == ["application/vnd.x+json"]
