"""Fake step functions a test scripts: what each returns or raises, in which order."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from gateway.workflows import Compensation, RetryPolicy, StepContext, StepFunction

QUICK = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.005)


class TransientError(Exception):
    """A failure worth retrying (as SourceUnavailable is)."""

    retriable = True


class FatalError(Exception):
    """A failure retrying cannot fix (as SourceRejected is)."""


class Script:
    """Step and compensation functions that record each call in `log`."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []  # ("run" | "undo", step)
        self.contexts: dict[str, StepContext] = {}
        self._failures: dict[tuple[str, str], list[BaseException]] = {}
        self._running = 0
        self.most_at_once = 0

    def runs(self, step: str) -> int:
        return Counter(self.log)[("run", step)]

    def order(self, kind: str = "run") -> list[str]:
        return [step for what, step in self.log if what == kind]

    def fail(self, step: str, *errors: BaseException, undo: bool = False) -> None:
        """Make the next calls of `step` (or of its compensation) raise these, in turn."""
        self._failures.setdefault(("undo" if undo else "run", step), []).extend(errors)

    def step(
        self,
        name: str,
        *,
        output: Any = None,
        hold: asyncio.Event | None = None,
        started: asyncio.Event | None = None,
    ) -> StepFunction:
        """A step that records its call, waits for `hold` if given, and returns `output`
        (by default `{"step": name}`)."""

        async def run(ctx: StepContext) -> Any:
            self.log.append(("run", name))
            self.contexts[name] = ctx
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
            try:
                if started is not None:
                    started.set()
                if hold is not None:
                    await hold.wait()
                await asyncio.sleep(0)
                self._raise_scripted("run", name)
            finally:
                self._running -= 1
            return {"step": name} if output is None else output

        return run

    def undo(self, name: str) -> Compensation:
        async def compensate(ctx: StepContext) -> None:
            self.log.append(("undo", name))
            self.contexts[f"undo:{name}"] = ctx
            self._raise_scripted("undo", name)

        return compensate

    def _raise_scripted(self, what: str, name: str) -> None:
        queued = self._failures.get((what, name))
        if queued:
            raise queued.pop(0)
