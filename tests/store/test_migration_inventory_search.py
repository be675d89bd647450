"""Migration 0008 on both backends: certificates stored before it are found by their SAN
values afterwards (the san_search column is filled from the JSON `sans`), and a downgrade
and upgrade leave the schema as schema.py describes it."""

from __future__ import annotations

from typing import Any

from alembic import command

from store import open_store
from store.migrate import alembic_config
from tests.store.factories import issue
from tests.store.test_migration_identity_scopes import database as database
from tests.store.test_migrations import schema_diff, sqlalchemy_connection

BEFORE = "0007_console_users"


async def test_certificates_from_before_are_found_by_their_sans(
    database: dict[str, Any],
) -> None:
    async with await open_store(**database) as store:
        web = await issue(
            store,
            common_name="web.example.com",
            sans=[
                {"type": "dns_name", "value": "Web.Example.com"},
                {"type": "ip_address", "value": "192.0.2.10"},
            ],
        )
        bare = await issue(store, common_name="bare.example.com", sans=[])
        async with sqlalchemy_connection(store) as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), BEFORE))
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))

        assert await schema_diff(store) == []
        found = await store.list_certificates(search="192.0.2.10")
        assert [c.id for c in found] == [web.id]
        assert await store.count_certificates(search="web.example") == 1
        assert await store.count_certificates(search="bare") == 1  # its common name
        assert (await store.get_certificate(bare.id)).sans == []
