"""An httpx client for a server published under a public-looking name (its external URL)
but listening on loopback: every request connects to 127.0.0.1, the Host header and URL
keep the public name, so the server sees exactly what it would behind a load balancer.

`tls_terminated=True` also sends https URLs as plain HTTP, as a TLS-terminating proxy in
front of a `--plain-http` server would (the server publishes https URLs, speaks HTTP)."""

from __future__ import annotations

from typing import Any

import httpx


class LoopbackTransport(httpx.HTTPTransport):
    def __init__(self, *, tls_terminated: bool = False) -> None:
        super().__init__()
        self.tls_terminated = tls_terminated

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(host="127.0.0.1")
        if self.tls_terminated and url.scheme == "https":
            url = url.copy_with(scheme="http", port=url.port or 443)
        request.url = url
        return super().handle_request(request)


def loopback_client(*, tls_terminated: bool = False, **options: Any) -> httpx.Client:
    transport = LoopbackTransport(tls_terminated=tls_terminated)
    return httpx.Client(transport=transport, timeout=30, **options)
