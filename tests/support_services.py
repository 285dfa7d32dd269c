"""Reach the real PostgreSQL and Redis servers, or say why not (never skipping in CI)."""

from __future__ import annotations

import os
import socket

import pytest


def require_service(name: str, host: str, port: int) -> None:
    """Skip when the server is down outside CI; fail in CI, where it must run."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as error:
        unavailable(
            f"{name} at {host}:{port} is not reachable ({error}); start it with `make services`"
        )


def unavailable(message: str) -> None:
    """Skip outside CI; in CI, where every real server must be tested, fail."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
