"""Listing certificate requests (metadata filter, paging) and the expires_after filter,
on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from store import Store
from tests.store.factories import NOW, issue, make_profile


async def _request_ids(store: Store, **filters: Any) -> set[str]:
    found = await store.list_certificate_requests(**filters, limit=1000)
    assert await store.count_certificate_requests(**filters) == len(found)
    return {request.id for request in found}


async def test_requests_filter_by_metadata_profile_status_and_certificate(store: Store) -> None:
    web_profile = await make_profile(store)
    ops_profile = await make_profile(store)
    web = await store.create_certificate_request(
        profile_id=web_profile.id,
        method="api_managed",
        metadata={"team": "web", "env": "prod", "note": "a 'quoted' value"},
    )
    web_dev = await store.create_certificate_request(
        profile_id=web_profile.id, method="api_csr", metadata={"team": "web", "env": "dev"}
    )
    ops = await store.create_certificate_request(
        profile_id=ops_profile.id, method="api_managed", metadata={"team": "ops"}
    )
    cert = await issue(store, profile_id=web_profile.id, certificate_request_id=web.id)
    assert await store.attach_certificate(web.id, cert.id)
    assert await store.fail_certificate_request(ops.id, "policy")

    assert await _request_ids(store) == {web.id, web_dev.id, ops.id}
    assert await _request_ids(store, metadata={"team": "web"}) == {web.id, web_dev.id}
    assert await _request_ids(store, metadata={"team": "web", "env": "prod"}) == {web.id}
    assert await _request_ids(store, metadata={"note": "a 'quoted' value"}) == {web.id}
    assert await _request_ids(store, metadata={"team": "web", "env": "qa"}) == set()
    assert await _request_ids(store, metadata={"missing": "x"}) == set()
    assert await _request_ids(store, profile_id=ops_profile.id) == {ops.id}
    assert await _request_ids(store, status="issued") == {web.id}
    assert await _request_ids(store, status="failed") == {ops.id}
    assert await _request_ids(store, status="pending") == {web_dev.id}
    assert await _request_ids(store, certificate_id=cert.id) == {web.id}
    with pytest.raises(ValueError, match="status"):
        await store.list_certificate_requests(status="done")


async def test_requests_page_newest_first(store: Store) -> None:
    profile = await make_profile(store)
    made = [
        await store.create_certificate_request(profile_id=profile.id, method="api_managed")
        for _ in range(5)
    ]
    pages = [await store.list_certificate_requests(limit=2, offset=o) for o in (0, 2, 4)]
    seen = [request.id for page in pages for request in page]
    assert sorted(seen) == sorted(r.id for r in made)
    assert [len(page) for page in pages] == [2, 2, 1]
    created = [r.created_at for page in pages for r in page]
    assert created == sorted(created, reverse=True)
    with pytest.raises(ValueError, match="limit"):
        await store.list_certificate_requests(limit=1001)


async def test_expires_after_bounds_not_after_from_below(store: Store) -> None:
    soon = await issue(store, not_after=NOW + timedelta(days=5))
    later = await issue(store, not_after=NOW + timedelta(days=50))
    gone = await issue(store, not_after=NOW - timedelta(days=1))

    async def ids(**filters: Any) -> set[str]:
        found = await store.list_certificates(**filters, limit=1000)
        assert await store.count_certificates(**filters) == len(found)
        return {cert.id for cert in found}

    assert await ids(expires_after=NOW) == {soon.id, later.id}
    window = {"expires_after": NOW, "expires_before": NOW + timedelta(days=30)}
    assert await ids(**window) == {soon.id}
    assert await ids(expires_before=NOW) == {gone.id}
