"""Look up profiles: one by slug or id, and those ACME directories serve."""

from __future__ import annotations

from acme_server.services.context import Services
from acme_server.services.errors import NotFoundError
from acme_server.services.profiles.settings import EnrollmentConfig
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


async def acme_profiles(services: Services) -> list[ProfileRecord]:
    """The profiles with ACME enabled, by slug."""
    profiles = await services.store.list_profiles()
    return sorted(
        (p for p in profiles if EnrollmentConfig.of(p).acme_enabled), key=lambda p: p.slug
    )
