"""An httpx client for a server published under a public-looking name (its external URL)
but listening on loopback: every request connects to 127.0.0.1, the Host header and URL
keep the public name, so the server sees exactly what it would behind a load balancer."""

from __future__ import annotations

from typing import Any

import httpx


class LoopbackTransport(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


def loopback_client(**options: Any) -> httpx.Client:
    return httpx.Client(transport=LoopbackTransport(), timeout=30, **options)
