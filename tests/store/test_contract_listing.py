"""Listing, filtering, paging and counting certificates, on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pki_types.model import CertificateStatus, RequestMethod
from store import CertificateRecord, Store
from tests.store.factories import NOW, issue, make_ca, make_profile, reserve


async def _ids(store: Store, **filters: Any) -> set[str]:
    found = await store.list_certificates(**filters, limit=1000)
    assert await store.count_certificates(**filters) == len(found)
    return {cert.id for cert in found}


async def test_filters_combine(store: Store) -> None:
    ca = await make_ca(store)
    profile = await make_profile(store, issuer_type="ca", ca_id=ca.id)
    web = await issue(
        store,
        profile_id=profile.id,
        ca_id=ca.id,
        common_name="Shop.Example.com",
        metadata={"team": "web", "env": "prod", "tier": "1"},
        not_after=NOW + timedelta(days=10),
    )
    web_dev = await issue(
        store,
        ca_id=ca.id,
        common_name="dev.example.com",
        friendly_name="Shop staging",
        metadata={"team": "web", "env": "dev"},
        not_after=NOW + timedelta(days=40),
    )
    ops = await reserve(
        store,
        common_name="db.internal",
        metadata={"team": "ops", "env": "prod"},
        not_after=NOW + timedelta(days=5),
    )
    await store.revoke_certificate(web_dev.id, reason="SUPERSEDED", revoked_at=NOW)

    assert await _ids(store) == {web.id, web_dev.id, ops.id}
    assert await _ids(store, status="active") == {web.id}
    assert await _ids(store, status=CertificateStatus.PENDING) == {ops.id}
    assert await _ids(store, profile_id=profile.id) == {web.id}
    assert await _ids(store, ca_id=ca.id) == {web.id, web_dev.id}
    assert await _ids(store, name_contains="SHOP") == {web.id, web_dev.id}
    assert await _ids(store, name_contains="%") == set()
    assert await _ids(store, expires_before=NOW + timedelta(days=10)) == {ops.id}
    assert await _ids(store, metadata={"team": "web"}) == {web.id, web_dev.id}
    assert await _ids(store, metadata={"team": "web", "env": "prod"}) == {web.id}
    assert await _ids(store, metadata={"env": "prod", "tier": "1", "team": "web"}) == {web.id}
    assert await _ids(store, metadata={"team": "web", "env": "qa"}) == set()
    assert await _ids(store, metadata={"env": "prod"}, ca_id=ca.id) == {web.id}


async def test_name_contains_treats_wildcards_literally(store: Store) -> None:
    percent = await reserve(store, common_name="100%.example")
    await reserve(store, common_name="100x.example")
    under = await reserve(store, common_name="a_b.example")
    await reserve(store, common_name="axb.example")

    assert await _ids(store, name_contains="0%") == {percent.id}
    assert await _ids(store, name_contains="a_b") == {under.id}


async def test_paging_walks_every_row_once_in_order(store: Store) -> None:
    made: list[CertificateRecord] = []
    for day in (5, 1, 3, 2, 4, 3):
        made.append(await reserve(store, not_after=NOW + timedelta(days=day)))

    pages = [
        await store.list_certificates(order_by="not_after", descending=False, limit=4, offset=o)
        for o in (0, 4, 8)
    ]

    assert [len(page) for page in pages] == [4, 2, 0]
    walked = [cert for page in pages for cert in page]
    assert sorted(c.id for c in walked) == sorted(c.id for c in made)
    assert [c.not_after for c in walked] == sorted(c.not_after for c in made)
    assert await store.count_certificates() == 6


async def test_default_order_is_newest_first(store: Store) -> None:
    first = await reserve(store)
    second = await reserve(store)

    listed = await store.list_certificates()

    assert [c.id for c in listed] == [second.id, first.id]
    assert listed[0].created_at >= listed[1].created_at


async def test_listing_returns_each_certificates_metadata(store: Store) -> None:
    one = await reserve(store, metadata={"a": "1"})
    two = await reserve(store, metadata={"b": "2", "c": "3"})
    bare = await reserve(store)

    by_id = {c.id: c.metadata for c in await store.list_certificates()}

    assert by_id == {one.id: {"a": "1"}, two.id: {"b": "2", "c": "3"}, bare.id: {}}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"order_by": "encrypted_private_key"}, "order_by"),
        ({"limit": -1}, "limit"),
        ({"limit": 100_000}, "limit"),
        ({"offset": -5}, "offset"),
        ({"status": "lost"}, "status"),
    ],
)
async def test_bad_listing_arguments_are_refused(
    store: Store, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.list_certificates(**arguments)


async def test_search_matches_names_and_san_values_and_method_filters(store: Store) -> None:
    web = await reserve(
        store,
        common_name="web.example.com",
        sans=[
            {"type": "dns_name", "value": "web.example.com"},
            {"type": "dns_name", "value": "Api.Internal.Test"},
            {"type": "ip_address", "value": "10.9.8.7"},
        ],
    )
    named = await reserve(store, common_name="db.example.com", friendly_name="Orders DB")
    acme = await reserve(
        store,
        common_name="acme.example.com",
        request_method="acme",
        sans=[{"type": "dns_name", "value": "100%_odd.example"}],
    )

    assert await _ids(store, search="API.internal") == {web.id}  # a SAN value, any case
    assert await _ids(store, search="10.9.8") == {web.id}
    assert await _ids(store, search="orders") == {named.id}  # the friendly name
    assert await _ids(store, search="example.com") == {web.id, named.id, acme.id}
    assert await _ids(store, search="%_odd") == {acme.id}  # wildcards are literal
    assert await _ids(store, search="0x_odd") == set()
    assert await _ids(store, search="dns_name") == set()  # the SAN type is no value
    assert await _ids(store, search="web.example.com\napi") == set()  # one value at a time
    assert await _ids(store, request_method="acme") == {acme.id}
    assert await _ids(store, request_method=RequestMethod.API_MANAGED) == {web.id, named.id}
    assert await _ids(store, request_method="acme", search="web") == set()
    with pytest.raises(ValueError, match="request_method"):
        await store.list_certificates(request_method="fax")


async def test_search_finds_certificates_with_many_sans(store: Store) -> None:
    """A certificate whose names outgrow the search index (certificate_filters'
    SEARCH_INDEXED_LENGTH) is found through the table, with the other filters."""
    many = [{"type": "dns_name", "value": f"host-{n:03}.many.example.com"} for n in range(150)]
    wide = await reserve(store, common_name="many.example.com", sans=many)
    short = await reserve(store, common_name="host-149.few.example.com")

    assert await _ids(store, search="HOST-149.") == {wide.id, short.id}
    assert await _ids(store, search="host-149.many") == {wide.id}
    assert await _ids(store, search="host-149", status="pending") == {wide.id, short.id}
    by_name = await store.list_certificates(
        search="host-149", order_by="common_name", descending=False
    )
    assert [c.id for c in by_name] == [short.id, wide.id]
    assert await _ids(store, search="host-149", request_method="acme") == set()
