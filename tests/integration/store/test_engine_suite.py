"""The engine's unit suite, again on each backend (see conftest.py)."""

from __future__ import annotations

from tests.unit.workflows.test_engine import *  # noqa: F403
