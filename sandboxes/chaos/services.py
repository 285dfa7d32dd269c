"""The chaos run's own Redis (a redis-server on a free port, so restarting it disturbs
nobody) and its own database on the shared PostgreSQL, dropped afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg
import redis

from sandboxes.harness.processes import free_port

POSTGRES_HOST = os.environ.get("PSGRAPH_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("PSGRAPH_TEST_PG_PORT", "5432"))
POSTGRES_USERS = ("postgres", "root")  # whichever the machine's cluster trusts
ADMIN_DATABASE = "test"


class PrivateRedis:
    """A throwaway redis-server on loopback; `restart()` is a crash and a cold start."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("the chaos run needs redis-server on the PATH")
        with (self._workdir / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                 "--appendonly", "no", "--dir", str(self._workdir)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait_ready()
        return self

    def restart(self, down_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def _wait_ready(self) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.05)
        finally:
            client.close()


class PrivateDatabase:
    """A database of its own on the shared PostgreSQL, for the length of the run."""

    def __init__(self) -> None:
        self.name = f"psgraph_chaos_{os.getpid()}_{secrets.token_hex(4)}"
        self._user = POSTGRES_USERS[0]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{self._user}@{POSTGRES_HOST}:{POSTGRES_PORT}/{self.name}"

    async def create(self) -> PrivateDatabase:
        errors: list[str] = []
        for user in POSTGRES_USERS:
            try:
                await self._admin(user, f'CREATE DATABASE "{self.name}"')
            except (OSError, asyncpg.PostgresError) as error:
                errors.append(f"{user}: {error}")
                continue
            self._user = user
            return self
        raise RuntimeError(f"no database for the chaos run: {'; '.join(errors)}")

    async def drop(self) -> None:
        await self._admin(self._user, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def _admin(self, user: str, statement: str) -> None:
        connection = await asyncpg.connect(
            host=POSTGRES_HOST, port=POSTGRES_PORT, user=user, database=ADMIN_DATABASE, timeout=10
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
