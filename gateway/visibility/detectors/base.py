"""What every detector is given, and what it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.observability.health import SourceHealthTracker
from gateway.settings import VisibilityConfig
from gateway.store import Store
from gateway.visibility.findings import ExceptionKind, Finding
from gateway.visibility.view import SourceView
from sources.records import SourceSystem


@dataclass
class ScanContext:
    view: SourceView
    now: dt.datetime
    config: VisibilityConfig
    store: Store | None = None
    health: SourceHealthTracker | None = None

    @property
    def today(self) -> dt.date:
        return self.config.today or self.now.date()


@dataclass(frozen=True)
class Detector:
    """`detect` returns every current finding of `kind`; `reads` are the (system, entity)
    pairs whose changes can make or clear one, so a change there re-runs it; `needs` the
    sources it cannot run without (it is skipped, and its findings kept, without them)."""

    kind: ExceptionKind
    detect: Callable[[ScanContext], Awaitable[list[Finding]]]
    reads: frozenset[tuple[SourceSystem, str]] = field(default_factory=frozenset)
    needs: frozenset[SourceSystem] = field(default_factory=frozenset)
    on_events: frozenset[str] = field(default_factory=frozenset)  # domain event types
