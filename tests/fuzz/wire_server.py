"""The test server of testkit/in_process_server.py with the uvicorn options `kms serve` uses
and a choice of HTTP parser: what the wire fuzz talks to.

testkit.in_process_server.acme_server runs uvicorn with its defaults; this one passes
`http=<impl>`, proxy headers trusted from loopback (the harness serves plain HTTP, as `kms serve
--plain-http` does) and no Server header (acme_server/cli/server.py `_serve`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testkit.in_process_server import AcmeServer, acme_server


@contextmanager
def wire_server(data_dir: Path, database_url: str, http_impl: str) -> Iterator[AcmeServer]:
    """A running server parsing HTTP with `http_impl` ("httptools" or "h11")."""
    options = {"http": http_impl, "proxy_headers": True, "server_header": False}
    with acme_server(data_dir, database_url, uvicorn_options=options) as server:
        yield server
