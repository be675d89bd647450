"""Migration 0005: identity roles and certificate owners, including what it fills in for
rows made before it (downgraded to 0004, then upgraded again, on both backends)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from store import Store, open_store
from store.migrate import alembic_config
from testkit.postgres import BACKENDS, postgres_url
from tests.conftest import fresh_pg_schema
from tests.store.factories import NOW, issue, make_profile
from tests.store.test_migrations import schema_diff, sqlalchemy_connection

BEFORE = "0004_finalize_recovery"


async def _identity(store: Store, role: str = "member") -> str:
    made = await store.create_identity(
        name="bot", client_id=str(uuid.uuid4()), secret_hash="scrypt$x", role=role
    )
    return made.id


async def _migrate_down_and_up(store: Store) -> None:
    async with sqlalchemy_connection(store) as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), BEFORE))
    await store.migrate()


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield {"url": f"sqlite:///{tmp_path / 'kms.db'}"}
        return
    url = postgres_url()
    async with fresh_pg_schema(url) as schema:
        yield {"url": url, "pg_schema": schema}


async def test_owners_are_stored_and_filtered(database: dict[str, Any]) -> None:
    async with await open_store(**database) as store:
        mine, other = await _identity(store), await _identity(store)
        owned = await issue(store, owner_identity_id=mine)
        await issue(store, owner_identity_id=other)
        unowned = await issue(store)

        assert owned.owner_identity_id == mine and unowned.owner_identity_id is None
        assert [c.id for c in await store.list_certificates(owner_identity_id=mine)] == [owned.id]
        assert await store.count_certificates(owner_identity_id=mine) == 1
        assert await store.count_certificates() == 3
        assert (await store.get_identity(mine)).role == "member"
        changed = await store.set_identity_access(mine, role="admin", profile_grants=None)
        assert (changed.role, changed.profile_grants) == ("admin", None)
        assert (await store.get_identity(mine)).role == "admin"


async def test_upgrade_makes_old_identities_admin_and_fills_in_owners(
    database: dict[str, Any],
) -> None:
    async with await open_store(**database) as store:
        issuer, bound_to = await _identity(store), await _identity(store)
        # Issued over REST by `issuer` (so audited with it as the actor), then renewed by the
        # scheduler (actor "scheduler": the owner comes from the renewed certificate).
        issued = await issue(store)
        renewal = await issue(store, renewed_from_id=issued.id)
        await store.link_renewal(issued.id, renewal.id)
        for cert_id, action, actor in (
            (issued.id, "certificate.issue", f"identity:{issuer}"),
            (renewal.id, "certificate.renew", "scheduler"),
        ):
            await store.add_audit(
                at=NOW,
                actor=actor,
                action=action,
                target_type="certificate",
                target_id=cert_id,
                details={},
            )
        bound = await issue(store)
        await store.create_identity_certificate(
            identity_id=bound_to,
            certificate_id=bound.id,
            serial_hex=bound.serial_hex,
            fingerprint_sha256="cd" * 32,
            not_after=bound.not_after,
        )
        from_cli = await issue(store)
        request = await store.create_certificate_request(
            profile_id=(await make_profile(store)).id, method="api_managed"
        )
        await store.attach_certificate(request.id, issued.id)

        await _migrate_down_and_up(store)

        assert await schema_diff(store) == []
        assert {i.role for i in await store.list_identities()} == {"admin"}
        owners = {c.id: c.owner_identity_id for c in await store.list_certificates(limit=1000)}
        assert owners == {
            issued.id: issuer,
            renewal.id: issuer,
            bound.id: bound_to,
            from_cli.id: None,
        }
        assert (await store.get_certificate_request(request.id)).owner_identity_id == issuer
