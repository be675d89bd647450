"""GET /healthz: 200 when the database answers, 503 otherwise."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from acme_server.acme.problems import UNAVAILABLE_RETRY_AFTER_S
from acme_server.public.state import services_of
from store import StoreError

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    services = services_of(request)
    try:
        await services.store.ping()
    except (StoreError, OSError) as exc:
        log.warning("health check failed", extra={"error": type(exc).__name__})
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
        )
    return JSONResponse({"status": "ok", "database": services.store.backend})
