"""Alembic environment: migrations run on a connection the store hands in.

`gateway.store.migrate` passes its connection through `config.attributes`. From the
command line (`alembic -c gateway/store/alembic.ini -x url=... revision --autogenerate`)
the URL comes from `-x url=` and an async engine is made here.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.database import create_engine
from gateway.store.tables import metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def main() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url is None:
        raise SystemExit("pass the store URL: alembic -x url=sqlite+aiosqlite:///file ...")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(run_from_url(url))


main()
