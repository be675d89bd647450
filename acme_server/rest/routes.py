"""The REST routes: each module under acme_server/rest/ exposes `routes()`; this lists them."""

from __future__ import annotations

from starlette.routing import BaseRoute


def rest_routes() -> list[BaseRoute]:
    return [
        # one line per REST module: *module.routes(),
    ]
