"""GET /api/v1/dashboard: the figures the console's dashboard shows, within the caller's
reach (acme_server/services/dashboard.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from acme_server.render.dashboard import render_summary
from acme_server.rest.common import services_of
from acme_server.rest.guard import ApiRoute, principal_of
from acme_server.services import dashboard
from acme_server.services.roles import Permission


async def get_dashboard(request: Request) -> Response:
    """GET /api/v1/dashboard -- certificate counts, expiry and issuance per day, failures.

    Counted over the certificates of the profiles the caller reaches (every profile for
    an admin). Response 200: {"generatedAt", "total", "byStatus": {status: count},
    "byProfile": [{profileId, profile, name, total, byStatus}], "expiringPerDay" (active
    certificates, the next 90 UTC days, today first) and "issuedPerDay" (the last 30 UTC
    days, today last): [{date, count}], every day present; "failedRenewals": [{certificateId,
    commonName, serialNumber, profile, notAfter, error, attempts, nextAttemptAt,
    failedAt}] (the latest 20) and "failedRenewalsTotal"; "failedValidations": ACME
    challenges invalid in the last 7 days, [{challengeId, challengeType, identifier,
    error (the problem document), failedAt, authorizationId, orderId, accountId,
    profile}] (the latest 20)}.
    """
    figures = await dashboard.summary(
        services_of(request), principal_of(request), datetime.now(UTC)
    )
    return JSONResponse(render_summary(figures))


def routes() -> list[BaseRoute]:
    return [ApiRoute("/api/v1/dashboard", get_dashboard, ["GET"], Permission.CERTIFICATE_LIST)]
