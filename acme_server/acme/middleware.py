"""What every ACME response carries (RFC 8555 6.5 and 7.1), errors included:
a fresh Replay-Nonce, and Link: <directory>;rel="index" on every resource but the directory.
Pure ASGI, so it costs one header rewrite per response and no extra task.

The Link is built from the profile the handler resolved (`PROFILE_SCOPE_KEY`), never from
the request's own path: a segment that is not a profile slug (control characters, NUL,
non-ASCII) is answered 404 here, before routing, and a response that resolved no profile
points at the default directory. An unexpected error still gets its nonce: it is answered
serverInternal here rather than by Starlette's outermost error middleware, which is
outside this one.
"""

from __future__ import annotations

import logging
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acme_server.acme.problems import AcmeProblem, malformed, not_found, server_internal
from acme_server.acme.state import AcmeState
from acme_server.errors import acme_problem_of
from acme_server.services.errors import RateLimitedError

ACME_PREFIX = "/acme/"
PROFILE_SCOPE_KEY = "kms.acme_profile"  # the slug of the profile the handler resolved
_SLUG_SEGMENT = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")  # store.values.check_slug

log = logging.getLogger(__name__)


class AcmeHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(ACME_PREFIX):
            await self.app(scope, receive, send)
            return
        state: AcmeState = scope["app"].state.acme
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["Replay-Nonce"] = state.nonces.issue()  # no database work
                headers["Cache-Control"] = headers.get("Cache-Control", "no-store")
                if not path.endswith("/directory"):
                    headers.append("Link", f'<{_directory_of(state, scope)}>;rel="index"')
            await send(message)

        problem = _refused(state, scope, path)
        if problem is not None:
            await problem.response()(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error", extra={"path": path, "method": scope.get("method")})
            if started:
                raise
            await server_internal().response()(scope, receive, send_with_headers)


def _directory_of(state: AcmeState, scope: Scope) -> str:
    slug = scope.get(PROFILE_SCOPE_KEY)
    if isinstance(slug, str):
        return f"{state.base_url}/acme/{slug}/directory"
    return f"{state.base_url}/acme/directory"


def _refused(state: AcmeState, scope: Scope, path: str) -> AcmeProblem | None:
    """The answer to a request refused before routing, or None to route it."""
    segment = path[len(ACME_PREFIX) :].split("/", 1)[0]
    if segment != "directory" and not _SLUG_SEGMENT.fullmatch(segment):
        return not_found("ACME directory")
    if "\x00" in path or b"%00" in scope.get("query_string", b""):
        # No id or cursor holds one, and PostgreSQL could not even compare it.
        return malformed("the request URL holds a NUL character")
    client = scope.get("client")
    if client is not None:
        try:
            state.limiter.hit(
                "ip",
                client[0],
                limit=state.services.settings.rate_limit_requests_per_second,
                window=1.0,
                what="requests from this address",
            )
        except RateLimitedError as exc:
            return acme_problem_of(exc)
    return None
