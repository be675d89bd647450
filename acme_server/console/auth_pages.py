"""Sign-in, sign-out and the password change (forced at first sign-in when a password was
set by someone else: `kms user create` without --no-change, `kms user reset-password`).

The session cookie is HttpOnly, SameSite=Strict, Secure when the console is served over
TLS, and lives no longer than the session's absolute expiry. Sign-in answers the same
"wrong name or password" for every refusal (services/users/sessions.py counts, locks and
audits them).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from acme_server.console.forms import read_form, text
from acme_server.console.guard import COOKIE, PUBLIC, ConsoleRoute, current_session, form_of
from acme_server.console.guard import signed_in as caller_of
from acme_server.console.templating import NAV, page
from acme_server.rest.common import services_of
from acme_server.services.errors import RateLimitedError, ServiceError
from acme_server.services.roles import Permission, holds
from acme_server.services.users import accounts, sessions
from store.columns import utc_now


def _next(value: str) -> str:
    """Where to go after sign-in: a console path only (no open redirect)."""
    if value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def _landing(role: str, wanted: str) -> str:
    """The wanted page; for the dashboard, the first page of the menu the role may open
    (an auditor's is the audit log)."""
    if wanted != "/ui/":
        return wanted
    return next((href for _, href, need in NAV if need is None or holds(role, need)), wanted)


def _over_tls(request: Request) -> bool:
    """Served over TLS here, or published as https behind a TLS-terminating proxy."""
    published = services_of(request).settings.base_url
    return request.url.scheme == "https" or published.startswith("https://")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_page(request: Request) -> Response:
    """GET/POST /ui/login -- the sign-in form."""
    wanted = _next(request.query_params.get("next", "/ui/"))
    if request.method == "GET":
        if await current_session(request) is not None:
            return RedirectResponse(wanted, status_code=303)
        return page(request, "login.html", {"next": wanted, "name": ""})
    form = await read_form(request)
    name = text(form, "name", 255)
    wanted = _next(text(form, "next", 2048) or wanted)
    try:
        token, session, user = await sessions.sign_in(
            services_of(request), name, text(form, "password", 1024), address=_address(request)
        )
    except RateLimitedError as exc:
        context = {"next": wanted, "name": name, "error": str(exc)}
        return page(request, "login.html", context, status=429)
    except sessions.SignInRefused as exc:
        context = {"next": wanted, "name": name, "error": str(exc)}
        return page(request, "login.html", context, status=401)
    target = "/ui/password" if user.must_change_password else _landing(user.role, wanted)
    response = RedirectResponse(target, status_code=303)
    lifetime = int((session.expires_at - utc_now()).total_seconds())
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(lifetime, 0),
        path="/ui",
        secure=_over_tls(request),
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    """POST /ui/logout -- end the session (revoked in the store, cookie cleared)."""
    form_of(request)  # the guard checked its CSRF token
    await sessions.sign_out(services_of(request), request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/ui/login?signedOut=1", status_code=303)
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


async def password_page(request: Request) -> Response:
    """GET/POST /ui/password -- change one's own password (the current one is asked)."""
    me = caller_of(request)
    if request.method == "GET":
        return page(request, "password.html", {"forced": me.user.must_change_password})
    form = form_of(request)
    services = services_of(request)
    new, again = text(form, "new", 1024), text(form, "again", 1024)
    error = ""
    if not await accounts.verify_password(me.user, text(form, "current", 1024)):
        error = "The current password is wrong."
    elif new != again:
        error = "The two new passwords differ."
    elif new == text(form, "current", 1024):
        error = "The new password must differ from the current one."
    else:
        try:
            await accounts.change_own_password(services, me.user, new)
        except ServiceError as exc:
            error = str(exc)
    if error:
        context = {"forced": me.user.must_change_password, "error": error}
        return page(request, "password.html", context, status=400)
    return RedirectResponse("/ui/?passwordChanged=1", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        ConsoleRoute("/ui/login", login_page, ["GET", "POST"], PUBLIC),
        ConsoleRoute("/ui/logout", logout, ["POST"], Permission.IDENTITY_READ),
        ConsoleRoute("/ui/password", password_page, ["GET", "POST"], Permission.IDENTITY_READ),
    ]
