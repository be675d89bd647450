"""Access to the per-application objects stored on `app.state` by the lifespan."""

from __future__ import annotations

from starlette.requests import Request

from acme_server.services.context import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
