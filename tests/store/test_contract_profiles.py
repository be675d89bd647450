"""CertificatePolicy and CertificateProfile rows, on both backends."""

from __future__ import annotations

import uuid

import pytest

from pki_types.model import IssuerType
from store import Conflict, NotFound, Store
from store.db import Sql
from tests.store.factories import make_ca, make_policy, make_profile, reserve

SET_ALL_DEFAULT = Sql("UPDATE certificate_profiles SET is_default = :yes")


async def test_policy_crud(store: Store) -> None:
    created = await make_policy(store, name="web", rules={"max_ttl": "90d", "n": [1, 2]})

    assert await store.get_policy(created.id) == created
    assert await store.get_policy_by_name("web") == created
    assert created.rules == {"max_ttl": "90d", "n": [1, 2]}
    assert created.created_at == created.updated_at

    updated = await store.update_policy(created.id, rules={"max_ttl": "30d"}, description="d2")

    assert updated.rules == {"max_ttl": "30d"}
    assert updated.description == "d2"
    assert updated.name == "web"
    assert updated.updated_at >= created.updated_at
    assert await store.list_policies() == [updated]

    await store.delete_policy(created.id)
    with pytest.raises(NotFound):
        await store.get_policy(created.id)
    with pytest.raises(NotFound):
        await store.delete_policy(created.id)


async def test_duplicate_policy_name_conflicts(store: Store) -> None:
    await make_policy(store, name="same")
    with pytest.raises(Conflict, match="policy name already exists"):
        await make_policy(store, name="same")
    other = await make_policy(store, name="other")
    with pytest.raises(Conflict, match="policy name already exists"):
        await store.update_policy(other.id, name="same")


async def test_missing_policy_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_policy_by_name("absent")
    with pytest.raises(NotFound):
        await store.update_policy(str(uuid.uuid4()), description="x")


async def test_policy_in_use_cannot_be_deleted(store: Store) -> None:
    policy = await make_policy(store)
    profile = await make_profile(store, policy=policy)

    with pytest.raises(Conflict, match="used by 1 profile"):
        await store.delete_policy(policy.id)

    await store.delete_profile(profile.id)
    await store.delete_policy(policy.id)


async def test_profile_crud(store: Store) -> None:
    ca = await make_ca(store)
    policy = await make_policy(store)
    created = await make_profile(
        store,
        policy=policy,
        slug="web-servers",
        issuer_type="ca",
        ca_id=ca.id,
        auto_renew=True,
        renew_before_days=14,
    )

    assert await store.get_profile(created.id) == created
    assert await store.get_profile_by_slug("web-servers") == created
    assert created.issuer_type is IssuerType.CA
    assert created.enrollment["acme"] == {"enabled": True, "eab_required": False}
    assert created.auto_renew is True and created.renew_before_days == 14
    assert created.is_default is False

    updated = await store.update_profile(
        created.id, issuer_type=IssuerType.SELF_SIGNED, ca_id=None, defaults={"ttl": "7d"}
    )

    assert updated.issuer_type is IssuerType.SELF_SIGNED and updated.ca_id is None
    assert updated.defaults == {"ttl": "7d"}
    assert updated.slug == "web-servers" and updated.renew_before_days == 14
    assert await store.list_profiles() == [updated]

    await store.delete_profile(created.id)
    with pytest.raises(NotFound):
        await store.get_profile(created.id)
    with pytest.raises(NotFound):
        await store.delete_profile(created.id)


async def test_duplicate_profile_slug_conflicts(store: Store) -> None:
    await make_profile(store, slug="acme")
    with pytest.raises(Conflict, match="profile slug already exists"):
        await make_profile(store, slug="acme")


async def test_profile_references_must_exist(store: Store) -> None:
    with pytest.raises(NotFound, match="policy"):
        await store.create_profile(
            slug="p", name="p", policy_id=str(uuid.uuid4()), issuer_type="self_signed"
        )
    with pytest.raises(NotFound, match="CA"):
        await make_profile(store, issuer_type="ca", ca_id=str(uuid.uuid4()))
    with pytest.raises(NotFound):
        await store.get_profile_by_slug("p")


@pytest.mark.parametrize(
    ("issuer_type", "with_ca", "message"),
    [
        ("ca", False, "needs ca_id"),
        ("self_signed", True, "has no ca_id"),
        ("other", False, "issuer_type must be one of"),
    ],
)
async def test_profile_issuer_must_match_ca_id(
    store: Store, issuer_type: str, with_ca: bool, message: str
) -> None:
    ca_id = (await make_ca(store)).id if with_ca else None
    with pytest.raises(ValueError, match=message):
        await make_profile(store, issuer_type=issuer_type, ca_id=ca_id)


async def test_at_most_one_default_profile(store: Store) -> None:
    assert await store.get_default_profile() is None
    first = await make_profile(store, is_default=True)
    second = await make_profile(store, is_default=True)
    third = await make_profile(store)

    assert (await store.get_default_profile()) == await store.get_profile(second.id)
    assert not (await store.get_profile(first.id)).is_default

    await store.update_profile(third.id, is_default=True)

    defaults = [p.slug for p in await store.list_profiles() if p.is_default]
    assert defaults == [third.slug]
    await store.update_profile(third.id, is_default=False)
    assert await store.get_default_profile() is None


async def test_database_refuses_a_second_default(store: Store) -> None:
    """The partial unique index backs the store's rule against concurrent writers."""
    await make_profile(store, is_default=True)
    await make_profile(store)

    with pytest.raises(Conflict, match="another profile is already the default"):
        async with store.database.write() as tx:
            await tx.run(SET_ALL_DEFAULT, {"yes": True})


async def test_deleting_a_profile_keeps_its_certificates(store: Store) -> None:
    profile = await make_profile(store)
    cert = await reserve(store, profile_id=profile.id)

    await store.delete_profile(profile.id)

    assert (await store.get_certificate(cert.id)).profile_id is None
