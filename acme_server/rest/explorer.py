"""GET /api/docs: an interactive explorer of the OpenAPI document (Swagger UI), with no
authentication, made of local files only: the product runs in private networks, so
nothing is fetched from a CDN.

Swagger UI's dist files come from the `swagger-ui-py` package (its `swagger_ui/static`
folder; only its files are used, not its code), the start-up script from
acme_server/rest/static/explorer.js, all served under /api/docs/ by name from a fixed
list (ASSETS). The page allows only its own origin (PAGE_CSP): no inline script or style,
and no request to another host; the one exception is `data:` images, which Swagger UI's
stylesheet uses for its icons. The API calls the explorer makes carry the Bearer token
given under "Authorize", like any other client's.
"""

from __future__ import annotations

import html
import importlib.util
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute

from acme_server.rest.common import ApiError
from acme_server.rest.guard import PUBLIC, ApiRoute

DOCS_PATH = "/api/docs"
SWAGGER_UI_PACKAGE = "swagger_ui"  # PyPI: swagger-ui-py (Swagger UI's dist, version 5)
OWN_ASSETS = Path(__file__).parent / "static"
_CSS, _JS, _PNG = "text/css; charset=utf-8", "text/javascript; charset=utf-8", "image/png"
# every file served under /api/docs/: its name and media type
ASSETS: dict[str, str] = {
    "swagger-ui.css": _CSS,
    "index.css": _CSS,
    "swagger-ui-bundle.js": _JS,
    "favicon-32x32.png": _PNG,
    "favicon-16x16.png": _PNG,
    "explorer.js": _JS,
}
OWN_FILES = frozenset({"explorer.js"})  # in OWN_ASSETS; the others are Swagger UI's
PAGE_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_ASSET_CACHE = "public, max-age=3600"


@cache
def swagger_ui_dist() -> Path:
    """The folder of Swagger UI's dist files, found without importing the package."""
    spec = importlib.util.find_spec(SWAGGER_UI_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package (Swagger UI's files) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def asset_path(name: str) -> Path:
    return (OWN_ASSETS if name in OWN_FILES else swagger_ui_dist()) / name


def page(openapi_url: str) -> str:
    """The explorer's HTML: same-origin stylesheets and scripts, nothing inline."""
    url = html.escape(openapi_url, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kms API explorer</title>
<link rel="icon" type="image/png" sizes="32x32" href="{DOCS_PATH}/favicon-32x32.png">
<link rel="icon" type="image/png" sizes="16x16" href="{DOCS_PATH}/favicon-16x16.png">
<link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
<link rel="stylesheet" href="{DOCS_PATH}/index.css">
</head>
<body>
<noscript>The API explorer needs JavaScript. The OpenAPI document is at
<a href="{url}">{url}</a>.</noscript>
<div id="swagger-ui" data-openapi-url="{url}"></div>
<script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/explorer.js"></script>
</body>
</html>
"""


def page_response(openapi_url: str) -> Response:
    headers = {**_COMMON_HEADERS, "Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"}
    return HTMLResponse(page(openapi_url), headers=headers)


async def explorer_asset(request: Request) -> Response:
    """GET /api/docs/{name} -- one of the explorer's files (ASSETS), else 404."""
    name = request.path_params["name"]
    if name not in ASSETS:
        raise ApiError(404, f"no explorer file {name!r}")
    headers = {**_COMMON_HEADERS, "Cache-Control": _ASSET_CACHE}
    return FileResponse(asset_path(name), media_type=ASSETS[name], headers=headers)


def routes(openapi_url: str) -> list[BaseRoute]:
    """The page, pointing at the OpenAPI document at `openapi_url`, and its files."""

    async def explorer_page(request: Request) -> Response:
        """GET /api/docs -- the interactive API explorer (Swagger UI; no authentication)."""
        return page_response(openapi_url)

    return [
        ApiRoute(DOCS_PATH, explorer_page, ["GET"], PUBLIC),
        ApiRoute(DOCS_PATH + "/{name}", explorer_asset, ["GET"], PUBLIC),
    ]
