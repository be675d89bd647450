"""GET /api/docs: the interactive API explorer (Swagger UI) over real HTTP, with no token:
an HTML page whose every stylesheet, script and icon is a same-origin file the server
answers with its media type, nothing inline and nothing from another host (the product
runs in private networks), under a Content-Security-Policy of 'self'; the page points at
the server's own OpenAPI document. Whether a browser renders it is left to the console
issue's browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from testkit.in_process_server import AcmeServer

DOCS = "/api/docs"
OPENAPI = "/api/openapi.json"
MEDIA_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".png": "image/png",
    ".json": "application/json",  # the OpenAPI document, linked for readers without JS
}


class PageParts(HTMLParser):
    """The references (href, src), inline scripts and styles, and data-openapi-url."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline: list[str] = []
        self.openapi_url: str | None = None
        self._open_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("href", "src"):
            if found.get(name):
                self.references.append(found[name] or "")
        if "style" in found or tag == "style":
            self.inline.append(f"<{tag} style>")
        if any(name.startswith("on") for name in found):
            self.inline.append(f"<{tag} on...>")
        self._open_script = tag == "script" and not found.get("src")
        if found.get("data-openapi-url"):
            self.openapi_url = found["data-openapi-url"]

    def handle_data(self, data: str) -> None:
        if self._open_script and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open_script = False


@pytest.fixture(scope="module")
def anonymous(api: AcmeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, timeout=30) as client:  # no Bearer token
        yield client


@pytest.fixture(scope="module")
def page(anonymous: httpx.Client) -> httpx.Response:
    response = anonymous.get(DOCS)
    assert response.status_code == 200, response.text
    return response


def parts(page: httpx.Response) -> PageParts:
    parser = PageParts()
    parser.feed(page.text)
    return parser


def test_the_page_is_html_that_needs_no_token(page: httpx.Response) -> None:
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.lstrip().lower().startswith("<!doctype html>")
    assert 'id="swagger-ui"' in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_page_allows_only_its_own_origin(page: httpx.Response) -> None:
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in page.headers["content-security-policy"].split(";")
    }
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]  # Swagger UI's CSS icons
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)
    found = parts(page)
    assert found.inline == []  # nothing the policy would refuse


def test_every_reference_is_a_same_origin_path(page: httpx.Response) -> None:
    found = parts(page)
    assert len(found.references) >= 4  # stylesheets, scripts, icons
    for reference in [*found.references, found.openapi_url or ""]:
        assert reference.startswith("/") and not reference.startswith("//"), reference
    assert "http://" not in page.text and "https://" not in page.text


def test_each_asset_answers_with_its_media_type(
    anonymous: httpx.Client, page: httpx.Response
) -> None:
    references = parts(page).references
    assert {f"{DOCS}/swagger-ui-bundle.js", f"{DOCS}/explorer.js"} <= set(references)
    assert f"{DOCS}/swagger-ui.css" in references
    for reference in references:
        response = anonymous.get(reference)
        assert response.status_code == 200, (reference, response.text)
        suffix = reference[reference.rindex(".") :]
        assert response.headers["content-type"].startswith(MEDIA_TYPES[suffix]), reference
        assert response.content, reference
        if reference.startswith(f"{DOCS}/"):
            assert response.headers["x-content-type-options"] == "nosniff"
    bundle = anonymous.get(f"{DOCS}/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    assert "isOAS31" in bundle  # Swagger UI 5: renders an OpenAPI 3.1 document


def test_the_start_script_loads_the_servers_own_document(
    anonymous: httpx.Client, page: httpx.Response
) -> None:
    assert parts(page).openapi_url == OPENAPI
    script = anonymous.get(f"{DOCS}/explorer.js").text
    assert "SwaggerUIBundle(" in script
    assert "dataset.openapiUrl" in script
    assert "validatorUrl: null" in script  # no badge fetched from the online validator
    assert "http://" not in script and "https://" not in script
    document = anonymous.get(OPENAPI)
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")


@pytest.mark.parametrize(
    "name", ["swagger-editor-bundle.js", "LICENSE", "..%2F__init__.py", "oauth2-redirect.html"]
)
def test_only_the_listed_files_are_served(anonymous: httpx.Client, name: str) -> None:
    response = anonymous.get(f"{DOCS}/{name}")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
