"""The Starlette application factory and its lifespan (store opened on start, closed on stop)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from acme_server.logs import configure_logging
from acme_server.services.context import Services
from acme_server.settings import Settings, load_settings
from acme_server.web import health, pki

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """Build the app. Given `services`, the caller owns them (tests); else the lifespan does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services if services is not None else await Services.open(settings)
        log.info(
            "server ready",
            extra={"base_url": settings.base_url, "database": app.state.services.store.backend},
        )
        try:
            yield
        finally:
            if owned:
                await app.state.services.close()

    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/pki/crl/{ca_id}.crl", pki.crl, methods=["GET"]),
        Route("/pki/ca/{ca_id}.{ext:str}", pki.ca_certificate, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_environment() -> Starlette:
    """uvicorn factory for `kms serve`: workers rebuild the settings from KMS_* variables."""
    settings = load_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return create_app(settings)
