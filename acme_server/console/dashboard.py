"""The dashboard (GET /ui/): certificates counted by status and by profile, bar charts of
certificates expiring per day (next 90 days) and issued per day (last 30), the failed
renewals and the failed ACME validations to look at -- all within the caller's reach,
from the one service GET /api/v1/dashboard answers from (services/dashboard.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from acme_server.console.charts import bar_chart
from acme_server.console.guard import ConsoleRoute, signed_in
from acme_server.console.templating import page
from acme_server.rest.common import services_of
from acme_server.services import dashboard
from acme_server.services.roles import Permission


async def dashboard_page(request: Request) -> Response:
    """GET /ui/ -- what the signed-in user's role reaches, counted and charted."""
    me = signed_in(request)
    figures = await dashboard.summary(services_of(request), me.principal, datetime.now(UTC))
    charts = (
        bar_chart(
            "expiring",
            f"Certificates expiring per day, next {dashboard.EXPIRING_DAYS} days",
            figures.expiring,
            noun="expiring",
        ),
        bar_chart(
            "issued",
            f"Certificates issued per day, last {dashboard.ISSUED_DAYS} days",
            figures.issued,
            noun="issued",
        ),
    )
    context = {
        "figures": figures,
        "charts": charts,
        "validation_days": dashboard.FAILED_VALIDATION_DAYS,
        "chart_days": dashboard.EXPIRING_DAYS,
    }
    return page(request, "dashboard.html", context)


def routes() -> list[BaseRoute]:
    return [ConsoleRoute("/ui/", dashboard_page, ["GET"], Permission.CERTIFICATE_LIST)]
