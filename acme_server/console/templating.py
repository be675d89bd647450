"""The console's Jinja2 environment: autoescaping on for every template, times shown in UTC
with the ISO form for the browser's local-time hover, and the navigation.

    return page(request, "certificate.html", {"cert": details}, status=200)

`page()` adds what every template uses: `me` (the SignedIn caller or None), `csrf` (the
session's token for forms), `can(permission)`, `nav`, the current path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from acme_server.services.roles import Permission

if TYPE_CHECKING:
    from acme_server.console.guard import SignedIn

HERE = Path(__file__).resolve().parent
# (label, path, permission the link needs)
NAV: tuple[tuple[str, str, Permission | None], ...] = (
    ("Dashboard", "/ui/", Permission.CERTIFICATE_LIST),
    ("Certificates", "/ui/certificates", Permission.CERTIFICATE_LIST),
    ("Requests", "/ui/requests", Permission.REQUEST_LIST),
    ("CAs", "/ui/cas", Permission.CA_READ),
    ("Profiles", "/ui/profiles", Permission.PROFILE_READ),
    ("Policies", "/ui/policies", Permission.POLICY_READ),
    ("ACME", "/ui/acme/accounts", Permission.CA_MANAGE),
    ("Identities", "/ui/identities", Permission.IDENTITY_MANAGE),
    ("Audit log", "/ui/audit", Permission.AUDIT_READ),
)


def _when(value: object) -> str:
    """A time as the console shows it: 2026-12-07 15:04 UTC."""
    moment = _moment(value)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _iso(value: object) -> str:
    moment = _moment(value)
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return _moment(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = _when
ENV.filters["iso"] = _iso


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    me: SignedIn | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    caller = me if me is not None else getattr(request.state, "console", None)
    values: dict[str, Any] = {
        "me": caller,
        "csrf": caller.session.csrf_token if caller is not None else "",
        "can": caller.can if caller is not None else (lambda _permission: False),
        "nav": [n for n in NAV if caller is not None and (n[2] is None or caller.can(n[2]))],
        "path": request.url.path,
        "request": request,
    }
    values.update(context or {})
    body = ENV.get_template(template).render(values)
    return HTMLResponse(body, status_code=status, headers=headers)
