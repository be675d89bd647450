"""Alembic environment for the store.

Normally the store runs migrations (Store.migrate) and passes its open connection in
`config.attributes["connection"]`. Run by hand (`alembic -c store/alembic.ini upgrade
head`), the URL comes from `-x url=...` or the KMS_DATABASE_URL environment variable.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from store.engine import create_engine, parse_url
from store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    parsed, backend = parse_url(url)
    engine = create_engine(parsed, backend)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "KMS_DATABASE_URL"
    )
    if not url:
        raise SystemExit("give the database URL: -x url=... or KMS_DATABASE_URL")
    return url


if context.is_offline_mode():
    context.configure(url=parse_url(_url())[0], target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_from_url(_url()))
