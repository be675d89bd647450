"""Server CPU per ACME request kind, read from /proc around N identical sequential requests.

    .venv/bin/python -m bench.requests [N]

A diagnostic beside the benchmark: the fixed cost of one request (framework, JWS, nonce,
database) without validation or signing, which multiplies by every request of a flow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from bench.stages import process_cpu_seconds
from testkit.acme_client import AcmeClient
from testkit.kms_process import running_server


def measure(pid: int, count: int, request: Callable[[], object]) -> float:
    """Microseconds of server CPU per call of `request`."""
    for _ in range(min(50, count)):
        request()
    start = process_cpu_seconds(pid)
    for _ in range(count):
        request()
    return 1e6 * (process_cpu_seconds(pid) - start) / count


def main(count: int) -> None:
    os.environ["KMS_RATE_LIMIT_ORDERS_PER_HOUR"] = "1000000"
    os.environ["KMS_RATE_LIMIT_REQUESTS_PER_SECOND"] = "1000000"
    data_dir = Path(tempfile.mkdtemp(prefix="kms-requests-")) / "data"
    with running_server(data_dir, "--plain-http") as server, httpx.Client() as http:
        directory = f"{server.base_url}/acme/default/directory"
        client = AcmeClient(http, directory, ec.generate_private_key(ec.SECP256R1()))
        client.new_account()
        order_url = client.new_order("requests.bench.test").headers["Location"]
        authz_url = client.get(order_url).json()["authorizations"][0]
        nonce_url = client.directory["newNonce"]
        pid = server.process.pid
        rows = {
            "HEAD newNonce": lambda: http.head(nonce_url),
            "GET directory": lambda: http.get(directory),
            "POST-as-GET order": lambda: client.get(order_url),
            "POST-as-GET authorization": lambda: client.get(authz_url),
        }
        for name, request in rows.items():
            print(f"{name:28s} {measure(pid, count, request):7.0f} us server CPU per request")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
