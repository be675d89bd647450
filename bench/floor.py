"""What the libraries every issuance goes through cost on this machine, each alone.

    .venv/bin/python -m bench.floor [N]

A diagnostic beside the benchmark, for reading its CPU target: the sum below is CPU that a
full issuance spends in the product's mandated stack (uvicorn + Starlette, dnspython,
aiohttp, cryptography) before any of the server's own work -- no store, no policy, no JSON
but the framework's, no logging. Each figure is CPU time (user + system) per operation:

- `uvicorn + Starlette request`: one GET to a one-route Starlette app served by uvicorn
  (httptools, uvloop, no access log) in its own process, read from /proc, times the
  requests of one flow (REQUESTS_PER_FLOW, what `make bench` counts per certificate);
- `dnspython A + AAAA`, `dnspython CAA`: the server's own Resolver (validation/resolver.py,
  CAA cache off) against the bench's DNS server in another process: NOERROR with A
  127.0.0.1 / empty answers with the zone's SOA, as in `make bench`;
- `aiohttp GET, new connection`: one HTTP-01-like fetch (Connection: close) from the
  bench's responder in another process;
- `ES256 verify`: one JWS signature check, times the signed requests of one flow;
- `CSR check + leaf signing`: load and verify a P-256 CSR, build and sign a leaf with a
  P-256 CA, as finalize does at the least.

Nothing is asserted; the figures vary with the CPU. The server's own work per request (JWS
parsing, nonce, account and resource reads, JSON, access log) comes on top.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final

import aiohttp
import httpx
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from acme_server.validation.config import ValidationConfig
from acme_server.validation.resolver import Resolver
from bench.dnsserver import WildcardDNS
from bench.responder import Responder
from bench.server import free_port
from bench.stages import process_cpu_seconds

REQUESTS_PER_FLOW: Final = 6  # newOrder, authz, challenge, one poll, finalize, download
CHALLENGE: Final = "floor-challenge"  # the token path part the responder serves
HOST: Final = "127.0.0.1"


async def _ok(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


hello_app = Starlette(routes=[Route("/x", _ok, methods=["GET"])])


def _cpu_per_call(count: int, call: Callable[[], object]) -> float:
    start = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - start) / count


async def _acpu_per_call(count: int, call: Callable[[int], Awaitable[object]]) -> float:
    for i in range(min(50, count)):
        await call(-1 - i)
    start = time.process_time()
    for i in range(count):
        await call(i)
    return (time.process_time() - start) / count


def framework_request(count: int) -> float:
    """CPU of the uvicorn process per GET, read from /proc."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.floor:hello_app", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client() as http:
            url = f"http://{HOST}:{port}/x"
            deadline = time.monotonic() + 20
            while True:
                try:
                    http.get(url)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            for _ in range(200):
                http.get(url)
            start = process_cpu_seconds(server.pid)
            for _ in range(count):
                http.get(url)
            return (process_cpu_seconds(server.pid) - start) / count
    finally:
        server.terminate()
        server.wait()


def _serve_peers() -> None:
    """Child process: the bench's DNS server and HTTP-01 responder; prints their ports."""

    async def serve() -> None:
        async with WildcardDNS() as dns, Responder() as responder:
            responder.publish(CHALLENGE, "floor-key-authorization")
            print(dns.nameserver, responder.port, flush=True)
            await asyncio.Event().wait()

    uvloop.run(serve())


async def network_costs(count: int) -> dict[str, float]:
    peers = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.floor", "--serve-peers", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert peers.stdout is not None
        nameserver, http_port = (await peers.stdout.readline()).decode().split()
        host, _, dns_port = nameserver.rpartition(":")
        resolver = Resolver(
            ValidationConfig(nameservers=((host, int(dns_port)),), caa_cache_seconds=0)
        )
        url = f"http://{HOST}:{http_port}/.well-known/acme-challenge/{CHALLENGE}"
        headers = {"Connection": "close"}
        async with aiohttp.ClientSession() as session:

            async def fetch(_: int) -> None:
                async with session.get(url, headers=headers) as response:
                    await response.read()

            return {
                "dnspython A + AAAA": await _acpu_per_call(
                    count, lambda i: resolver.addresses(f"n{i}.floor.bench.test")
                ),
                "dnspython CAA": await _acpu_per_call(
                    count, lambda i: resolver.caa(f"n{i}.floor.bench.test")
                ),
                "aiohttp GET, new connection": await _acpu_per_call(count, fetch),
            }
    finally:
        peers.terminate()
        await peers.wait()


def crypto_costs(count: int) -> dict[str, float]:
    account = ec.generate_private_key(ec.SECP256R1())
    message = b"protected.payload" * 20
    r, s = decode_dss_signature(account.sign(message, ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # as a JWS carries it
    public = account.public_key()

    def verify() -> None:  # as acme_server/acme/jws.py does
        signature = encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "floor CA")])
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    csr_pem = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.floor.test")]), False)
        .sign(leaf_key, hashes.SHA256())
        .public_bytes(Encoding.PEM)
    )
    now = datetime.now(UTC)

    def sign() -> None:
        csr = x509.load_pem_x509_csr(csr_pem)
        assert csr.is_signature_valid
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(ca_name)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=90))
            .add_extension(san, critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )

    return {
        "ES256 verify": _cpu_per_call(count, verify) * REQUESTS_PER_FLOW,
        "CSR check + leaf signing": _cpu_per_call(count, sign),
    }


def main(count: int) -> None:
    rows = {"uvicorn + Starlette request": framework_request(count) * REQUESTS_PER_FLOW}
    rows.update(uvloop.run(network_costs(count)))
    rows.update(crypto_costs(count))
    print(f"CPU per issuance in the mandated stack alone ({os.cpu_count()} CPUs, {count} runs):")
    per_request = ("uvicorn + Starlette request", "ES256 verify")
    for name, seconds in rows.items():
        times = f"({REQUESTS_PER_FLOW} per flow)" if name in per_request else ""
        print(f"  {name:32s} {seconds * 1000:6.2f} ms {times}")
    print(f"  {'sum (the floor)':32s} {sum(rows.values()) * 1000:6.2f} ms")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve-peers"]:
        _serve_peers()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
