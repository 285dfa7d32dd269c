"""The events benchmark, at a small size, as `make bench` runs it: its subscribers receive
every pushed event and its ingestion loses and duplicates nothing (it exits otherwise).
The benchmark's ids must be ones the gateway accepts: an event about a malformed id is
shown to no one, and a benchmark of such events would wait for deliveries forever."""

from __future__ import annotations

import pytest

from bench import events


def test_the_events_benchmark_delivers_every_event_and_ingests_each_push_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events.main(["--subscribers", "5", "--events", "3", "--webhooks", "40"])

    printed = capsys.readouterr().out
    assert "15 in" in printed  # 5 subscribers x 3 events delivered
    assert "40/40 answered with one event each" in printed
    assert "4/4 recognised, no event added" in printed
