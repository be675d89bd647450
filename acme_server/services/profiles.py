"""Look up profiles and read their defaults."""

from __future__ import annotations

from acme_server.services.context import Services
from acme_server.services.errors import NotFoundError
from store import NotFound, ProfileRecord


async def find_profile(services: Services, ref: str | None) -> ProfileRecord:
    """A profile by slug or id; the default profile when ref is None."""
    if ref is None:
        profile = await services.store.get_default_profile()
        if profile is None:
            raise NotFoundError("no default profile: run `kms init` first")
        return profile
    try:
        return await services.store.get_profile_by_slug(ref)
    except NotFound:
        pass
    try:
        return await services.store.get_profile(ref)
    except NotFound:
        raise NotFoundError(f"no certificate profile with slug or id {ref!r}") from None
