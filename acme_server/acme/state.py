"""Per-process ACME objects kept on `app.state.acme`: services, profile lookup, the worker's
wake-up signal, the rate limiter and the DNS resolver finalize's CAA check uses."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from acme_server.acme.nonces import NonceService
from acme_server.acme.problems import not_found
from acme_server.acme.urls import AcmeUrls
from acme_server.services.context import Services
from acme_server.services.profiles.settings import EnrollmentConfig
from acme_server.services.ratelimits import RateLimiter
from acme_server.validation.resolver import Resolver
from acme_server.validation.waiters import ValidationWaiters
from acme_server.validation.worker import ValidationWorker
from store import NotFound, ProfileRecord

PROFILE_CACHE_SECONDS = 5.0


@dataclass
class AcmeState:
    services: Services
    limiter: RateLimiter
    resolver: Resolver
    validation_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    validation_waiters: ValidationWaiters = field(default_factory=ValidationWaiters)
    # This process's worker: a challenge POST hands its validation straight to it.
    validation_worker: ValidationWorker | None = None
    nonces: NonceService = field(init=False)
    base_url: str = field(init=False)  # settings.base_url, computed once: settings are fixed
    _profiles: dict[str, tuple[float, ProfileRecord]] = field(default_factory=dict)
    _default_slug: tuple[float, str] | None = None

    def __post_init__(self) -> None:
        self.nonces = NonceService(self.services.kek)
        self.base_url = self.services.settings.base_url

    def urls(self, profile: ProfileRecord) -> AcmeUrls:
        return AcmeUrls(self.base_url, profile.slug)

    async def profile(self, slug: str | None) -> ProfileRecord:
        """The ACME-enabled profile of a directory (None: the default profile)."""
        now = time.monotonic()
        if slug is None:
            if (
                self._default_slug is not None
                and now - self._default_slug[0] < PROFILE_CACHE_SECONDS
            ):
                slug = self._default_slug[1]
            else:
                default = await self.services.store.get_default_profile()
                if default is None:
                    raise not_found("ACME directory")
                self._default_slug = (now, default.slug)
                slug = default.slug
        cached = self._profiles.get(slug)
        if cached is not None and now - cached[0] < PROFILE_CACHE_SECONDS:
            profile = cached[1]
        else:
            try:
                profile = await self.services.store.get_profile_by_slug(slug)
            except (NotFound, ValueError):
                raise not_found("ACME directory") from None
            self._profiles[slug] = (now, profile)
        if not EnrollmentConfig.of(profile).acme_enabled:
            raise not_found("ACME directory")
        return profile
