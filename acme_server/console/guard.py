"""The console's one authorization check, as rest/guard.py is REST's: every page names the
permission it needs.

    ConsoleRoute("/ui/certificates", certificates_page, ["GET"], Permission.CERTIFICATE_LIST)
    ConsoleRoute("/ui/login", login_page, ["GET", "POST"], PUBLIC)

Before a protected page runs, the session cookie is checked (a browser without a live
session is sent to the sign-in page, with the page it wanted as `next`), the user's role
must hold the permission (a 403 page naming it otherwise), and a state-changing request
must carry the session's CSRF token in its `csrf` form field (a 403 page otherwise,
nothing changed). A user whose password must change is sent to /ui/password first.
A service error raised by a page becomes an error page with the REST status.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from acme_server.console.errors import error_page
from acme_server.console.forms import read_form
from acme_server.rest.common import services_of
from acme_server.rest.guard import PUBLIC, Public
from acme_server.services import access
from acme_server.services.errors import ServiceError
from acme_server.services.identities.tokens import Principal
from acme_server.services.roles import Permission
from acme_server.services.users import sessions
from store import SessionRecord, UserRecord

Handler = Callable[[Request], Awaitable[Response]]
COOKIE = "kms_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
PASSWORD_PATH = "/ui/password"  # noqa: S105 (a path)

__all__ = ["PUBLIC", "ConsoleRoute", "SignedIn", "form_of", "signed_in"]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The caller of a protected page: its session, user and principal (the roles model)."""

    session: SessionRecord
    user: UserRecord
    principal: Principal
    form: FormData | None  # a POST's fields, already read and CSRF-checked

    def can(self, permission: Permission | str) -> bool:
        try:
            access.require(self.principal, Permission(permission))
        except ServiceError:
            return False
        return True


class ConsoleRoute(Route):
    """A Starlette Route with the permission its page needs."""

    def __init__(
        self,
        path: str,
        endpoint: Handler,
        methods: Sequence[str],
        permission: Permission | Public,
    ) -> None:
        self.permission = permission
        handler = _public(endpoint) if permission is PUBLIC else _guarded(endpoint, permission)
        super().__init__(path, handler, methods=list(methods), name=f"ui_{endpoint.__name__}")


def _wanted(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def _to_sign_in(request: Request) -> Response:
    wanted = _wanted(request) if request.method in SAFE_METHODS else "/ui/"
    return RedirectResponse(f"/ui/login?next={quote(wanted, safe='')}", status_code=303)


async def current_session(request: Request) -> tuple[SessionRecord, UserRecord] | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    return await sessions.session_of(services_of(request), token)


async def signed_in_or_none(request: Request) -> SignedIn | None:
    """The caller of a public page when it has a live session (for the page's header)."""
    found = await current_session(request)
    if found is None:
        return None
    session, user = found
    return SignedIn(session, user, sessions.principal_of_user(user), None)


def _public(endpoint: Handler) -> Handler:
    @functools.wraps(endpoint)
    async def public(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ServiceError as exc:
            return error_page(request, exc, None)

    return public


def _guarded(endpoint: Handler, permission: Permission) -> Handler:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        found = await current_session(request)
        if found is None:
            return _to_sign_in(request)
        session, user = found
        principal = sessions.principal_of_user(user)
        form = None
        if request.method not in SAFE_METHODS:
            try:
                form = await read_form(request)
            except ServiceError as exc:
                return error_page(request, exc, None)
            if not sessions.csrf_matches(session, str(form.get("csrf", ""))):
                return error_page(
                    request,
                    None,
                    None,
                    status=403,
                    title="The form has expired",
                    message="The form's security token is missing or wrong, so nothing was "
                    "changed. Reload the page and try again.",
                )
        caller = SignedIn(session, user, principal, form)
        request.state.console = caller
        if user.must_change_password and request.url.path != PASSWORD_PATH:
            return RedirectResponse(PASSWORD_PATH, status_code=303)
        try:
            access.require(principal, permission)
            return await endpoint(request)
        except ServiceError as exc:
            return error_page(request, exc, caller)

    return guarded


def signed_in(request: Request) -> SignedIn:
    """The caller of a protected console page, checked by its ConsoleRoute."""
    caller = getattr(request.state, "console", None)
    if not isinstance(caller, SignedIn):
        raise RuntimeError("signed_in() outside a protected ConsoleRoute")
    return caller


def form_of(request: Request) -> FormData:
    """The POST form of a protected page (read and CSRF-checked by the guard)."""
    form = signed_in(request).form
    if form is None:
        raise RuntimeError("form_of() on a GET page")
    return form
