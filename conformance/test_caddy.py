"""Caddy (the Debian package, 2.6; its ACME client is acmez/certmagic) against `kms serve`:
automatic HTTPS for a site, with an account bound by External Account Binding, HTTP-01 on
the test port, and the certificate then served by Caddy to a TLS client that trusts only
our root.

Caddy found a real bug: acmez follows every `Link: rel="up"` of the certificate response
with POST-as-GET and appends what it gets, so the chain response must not carry one
(RFC 8555 7.4.2 keeps "up" for single-certificate formats).

One name only: Caddy 2.6 obtains each name of a site in its own goroutine, and on a first
start both register an account for the same e-mail at once and may save the key of one
with the URL of the other (its race, not the server's; every later request then fails
with a bad signature)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from conformance.conftest import CONTACT, KmsServer, check_issued, client_binary, load_chain, name
from testkit.kms_process import free_port

SITE = name("caddy-www")
OBTAIN_SECONDS = 90


@pytest.fixture(scope="module", autouse=True)
def caddy_bin() -> str:
    """The client (autouse: skip, or fail under CI, before a server is started for nothing)."""
    return client_binary("caddy")


def _caddyfile(server: KmsServer, storage: Path, https_port: int, eab: dict[str, str]) -> str:
    return f"""{{
	acme_ca {server.directory()}
	acme_ca_root {server.bundle}
	acme_eab {{
		key_id {eab["kid"]}
		mac_key {eab["hmacKey"]}
	}}
	email {CONTACT}
	http_port {server.http01_port}
	https_port {https_port}
	storage file_system {storage}
	admin off
	skip_install_trust
}}
{SITE} {{
	tls {{
		issuer acme {{
			disable_tlsalpn_challenge
		}}
	}}
	respond "served by caddy"
}}
"""


@pytest.fixture(scope="module")
def caddy(
    kms_server: KmsServer, caddy_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, int]]:
    """Caddy running until its certificate is on disk: (the certificate file, HTTPS port)."""
    home = tmp_path_factory.mktemp("caddy")
    storage = home / "storage"
    https_port = free_port()
    config = home / "Caddyfile"
    config.write_text(_caddyfile(kms_server, storage, https_port, kms_server.eab_key()))
    log = home / "caddy.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [caddy_bin, "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        )
    try:
        deadline = time.monotonic() + OBTAIN_SECONDS
        found: list[Path] = []
        while not found:
            assert process.poll() is None, f"caddy exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no certificate:\n{log.read_text()}"
            time.sleep(0.25)
            found = list(storage.glob(f"certificates/*/{SITE}/{SITE}.crt"))
        yield found[0], https_port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_caddy_obtains_a_certificate_with_eab_by_http01(
    kms_server: KmsServer, caddy: tuple[Path, int]
) -> None:
    """RFC 8555 7.3.4 (EAB), 7.4, 8.3; the saved chain is leaf + intermediate, once each."""
    cert_file, _ = caddy
    leaf, *intermediates = load_chain(cert_file)
    assert len(intermediates) == 1
    check_issued(kms_server, leaf, intermediates, [SITE])
    record = kms_server.record(leaf.serial_number)
    assert (record.status, record.request_method) == ("active", "acme")
    assert record.profile_id == kms_server.eab_profile.id


def test_caddy_serves_the_certificate_to_a_client_trusting_our_root(
    kms_server: KmsServer, caddy: tuple[Path, int]
) -> None:
    cert_file, https_port = caddy
    context = ssl.create_default_context(cafile=str(kms_server.bundle))
    with (
        socket.create_connection(("127.0.0.1", https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=SITE) as tls,
    ):
        presented = tls.getpeercert(binary_form=True)
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {SITE}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert presented is not None
    assert x509.load_der_x509_certificate(presented) == load_chain(cert_file)[0]
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"served by caddy")
