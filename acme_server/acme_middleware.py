"""What every ACME response carries (RFC 8555 6.5 and 7.1), errors included:
a fresh Replay-Nonce, and Link: <directory>;rel="index" on every resource but the directory.
Pure ASGI, so it costs one header rewrite per response and no extra task.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acme_server.acme_state import AcmeState
from acme_server.problems import AcmeProblem, malformed

ACME_PREFIX = "/acme/"


class AcmeHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(ACME_PREFIX):
            await self.app(scope, receive, send)
            return
        state: AcmeState = scope["app"].state.acme
        base = state.base_url
        segments = path[len(ACME_PREFIX) :].split("/")
        profile = segments[0]
        directory = (
            f"{base}/acme/{profile}/directory"
            if profile != "directory"
            else f"{base}/acme/directory"
        )
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            # No id or cursor holds one, and PostgreSQL could not even compare it.
            problem = malformed("the request URL holds a NUL character")
            await problem.response()(
                scope, receive, send_with_headers_factory(state, send, path, directory)
            )
            return
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
            except AcmeProblem as problem:
                await problem.response()(
                    scope, receive, send_with_headers_factory(state, send, path, directory)
                )
                return

        await self.app(scope, receive, send_with_headers_factory(state, send, path, directory))


def send_with_headers_factory(state: AcmeState, send: Send, path: str, directory: str) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Replay-Nonce"] = state.nonces.issue()  # no database work
            headers["Cache-Control"] = headers.get("Cache-Control", "no-store")
            if not path.endswith("/directory"):
                headers.append("Link", f'<{directory}>;rel="index"')
        await send(message)

    return send_with_headers
