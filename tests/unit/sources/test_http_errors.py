"""Every exception httpx can raise maps to a `sources.errors` class: none escapes as a bug."""

from __future__ import annotations

import inspect

import httpx
import pytest

from sources.config import SourceSettings
from sources.errors import (
    SourceDataError,
    SourceError,
    SourceRequestError,
    SourceTimeout,
    SourceUnavailable,
)
from sources.http import SourceClient
from sources.http_errors import HTTPX_ERRORS, source_error
from sources.records import SourceSystem


def _subclasses(root: type[Exception]) -> set[type[Exception]]:
    found = {root}
    for sub in root.__subclasses__():
        found |= _subclasses(sub)
    return found


def _all_httpx_exceptions() -> list[type[Exception]]:
    exported = {
        value
        for value in vars(httpx).values()
        if inspect.isclass(value) and issubclass(value, Exception)
    }
    walked = set().union(*(_subclasses(root) for root in HTTPX_ERRORS))
    return sorted(exported | walked, key=lambda cls: cls.__name__)


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", "http://source.test/things")
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    if issubclass(cls, httpx.StreamError) and cls is not httpx.StreamError:
        return cls()  # type: ignore[call-arg]  # these build their own message
    return cls("boom")


def test_the_walk_finds_httpx_s_whole_exception_tree() -> None:
    names = {cls.__name__ for cls in _all_httpx_exceptions()}
    assert {"DecodingError", "InvalidURL", "ReadTimeout", "StreamClosed"} <= names


@pytest.mark.parametrize("cls", _all_httpx_exceptions(), ids=lambda cls: cls.__name__)
def test_every_httpx_exception_maps_to_a_source_error(cls: type[Exception]) -> None:
    mapped = source_error(SourceSystem.ERP, _instance(cls), "/things")
    assert isinstance(mapped, SourceError)
    assert mapped.system is SourceSystem.ERP


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (httpx.ReadTimeout, SourceTimeout),
        (httpx.ConnectError, SourceUnavailable),
        (httpx.RemoteProtocolError, SourceUnavailable),
        (httpx.DecodingError, SourceDataError),
        (httpx.TooManyRedirects, SourceDataError),
        (httpx.InvalidURL, SourceRequestError),
        (httpx.UnsupportedProtocol, SourceRequestError),
        (httpx.LocalProtocolError, SourceRequestError),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_each_kind_of_failure_maps_to_its_meaning(
    cls: type[Exception], expected: type[SourceError]
) -> None:
    assert type(source_error(SourceSystem.ERP, _instance(cls), "/things")) is expected


@pytest.mark.parametrize("cls", [httpx.DecodingError, httpx.InvalidURL])
async def test_the_client_raises_the_mapped_error_not_httpx_s(cls: type[Exception]) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise _instance(cls)

    source = SourceClient(
        SourceSystem.ERP,
        SourceSettings(base_url="http://source.test"),
        transport=httpx.MockTransport(handle),
    )
    with pytest.raises(SourceError) as raised:
        await source.request("GET", "/things")
    assert not raised.value.retriable
    await source.aclose()
