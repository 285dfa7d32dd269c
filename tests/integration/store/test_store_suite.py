"""The store's unit suite, again on each backend (see conftest.py)."""

from __future__ import annotations

from tests.unit.store.test_leases import *  # noqa: F403
from tests.unit.store.test_migrations import *  # noqa: F403
from tests.unit.store.test_repositories import *  # noqa: F403
from tests.unit.store.test_retention import *  # noqa: F403
