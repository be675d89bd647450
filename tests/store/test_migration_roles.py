"""Migration 0006: roles with per-profile grants and internal certificates, on both
backends: members of 0005 become issuers of every profile, the server's own certificates
(request method system) and their renewals become internal, and a downgrade gives 0005's
roles back."""

from __future__ import annotations

import uuid
from typing import Any

from alembic import command

from store import Store, open_store
from store.migrate import alembic_config
from tests.store.factories import issue, make_profile
from tests.store.test_migration_identity_scopes import database as database
from tests.store.test_migrations import schema_diff, sqlalchemy_connection

BEFORE = "0005_identity_scopes"


async def _identity(store: Store, role: str, grants: tuple[str, ...] | None = None) -> str:
    made = await store.create_identity(
        name=role,
        client_id=str(uuid.uuid4()),
        secret_hash="scrypt$x",
        role=role,
        profile_grants=grants,
    )
    return made.id


async def _downgrade(store: Store) -> None:
    async with sqlalchemy_connection(store) as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), BEFORE))


async def test_grants_and_internal_are_stored_and_filtered(database: dict[str, Any]) -> None:
    async with await open_store(**database) as store:
        web, api = await make_profile(store), await make_profile(store)
        reader = await _identity(store, "reader", (web.id,))
        assert (await store.get_identity(reader)).profile_grants == (web.id,)
        changed = await store.set_identity_access(
            reader, role="issuer", profile_grants=(api.id, web.id)
        )
        assert changed.profile_grants == tuple(sorted((api.id, web.id)))
        cleared = await store.set_identity_access(reader, role="issuer", profile_grants=())
        assert cleared.profile_grants == ()

        on_web = await issue(store, profile_id=web.id)
        on_api = await issue(store, profile_id=api.id, internal=True)
        assert (on_web.internal, on_api.internal) == (False, True)
        listed = await store.list_certificates(profile_ids=[web.id], limit=100)
        assert [c.id for c in listed] == [on_web.id]
        assert await store.count_certificates(profile_ids=[]) == 0
        assert await store.count_certificates(profile_ids=[web.id, api.id]) == 2


async def test_members_become_issuers_and_system_certificates_internal(
    database: dict[str, Any],
) -> None:
    async with await open_store(**database) as store:
        profile = await make_profile(store)
        other = await make_profile(store)
        issuer = await _identity(store, "issuer")
        idle = await _identity(store, "issuer")
        reader = await _identity(store, "reader", (profile.id,))
        admin = await _identity(store, "admin")
        auditor = await _identity(store, "auditor")
        await issue(store, profile_id=profile.id, owner_identity_id=issuer)
        await issue(store, profile_id=other.id, owner_identity_id=issuer)
        server_tls = await issue(store, profile_id=profile.id, request_method="system")
        renewed = await issue(store, profile_id=profile.id, renewed_from_id=server_tls.id)
        await store.link_renewal(server_tls.id, renewed.id)
        from_api = await issue(store, profile_id=profile.id, request_method="api_managed")
        assert server_tls.internal is False  # the store writes what it is told

        await _downgrade(store)
        async with sqlalchemy_connection(store) as conn:
            roles: dict[str, str] = await conn.run_sync(
                lambda c: dict(c.exec_driver_sql("SELECT id, role FROM machine_identities").all())
            )
        assert roles == {
            issuer: "member",
            idle: "member",
            reader: "member",
            admin: "admin",
            auditor: "member",
        }

        await store.migrate()
        assert await schema_diff(store) == []
        after = {
            i.id: (i.role, i.profile_grants, i.disabled) for i in await store.list_identities()
        }
        assert after == {
            issuer: ("issuer", tuple(sorted((profile.id, other.id))), False),
            idle: ("issuer", (), False),
            reader: ("issuer", (), True),
            admin: ("admin", None, False),
            auditor: ("issuer", (), True),
        }
        assert (await store.get_certificate(server_tls.id)).internal is True
        assert (await store.get_certificate(renewed.id)).internal is True
        assert (await store.get_certificate(from_api.id)).internal is False
