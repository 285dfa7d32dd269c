"""Harvest's request window: N requests per S seconds per token, then how long to wait."""

from __future__ import annotations

import pytest

from sandboxes.time.limits import RequestWindow
from tests.unit.time_.conftest import FakeClock


def test_the_default_is_harvests_own_limit() -> None:
    window = RequestWindow()

    assert (window.requests, window.window_s) == (100, 15.0)


def test_requests_beyond_the_limit_learn_how_long_to_wait() -> None:
    clock = FakeClock()
    window = RequestWindow(3, 10.0, clock=clock)

    assert [window.admit("t") for _ in range(3)] == [None, None, None]
    clock.advance(2.5)
    assert window.admit("t") == 8  # the oldest leaves the window 7.5 s from now
    clock.advance(7.5)
    assert window.admit("t") is None


def test_the_wait_is_at_least_a_second() -> None:
    clock = FakeClock()
    window = RequestWindow(1, 1.0, clock=clock)
    window.admit("t")
    clock.advance(0.99)

    assert window.admit("t") == 1


def test_each_token_has_its_own_window() -> None:
    window = RequestWindow(1, 15.0, clock=FakeClock())

    assert window.admit("a") is None
    assert window.admit("b") is None
    assert window.admit("a") is not None


@pytest.mark.parametrize(
    ("requests", "window_s"),
    [pytest.param(0, 15.0, id="no-requests"), pytest.param(10, 0.0, id="no-window")],
)
def test_a_window_needs_room(requests: int, window_s: float) -> None:
    with pytest.raises(ValueError, match="request window"):
        RequestWindow(requests, window_s)
