"""dehydrated (the Debian package; a shell client on curl and openssl) against `kms serve`:
an account bound by External Account Binding, a two-name P-384 certificate by HTTP-01 from
its WELLKNOWN directory, a forced renewal, and revocation. A client neither certbot nor
lego: it follows RFC 8555 its own way (POST-as-GET polling, its own JWS code)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.conftest import (
    CONTACT,
    KmsServer,
    check_issued,
    check_revoked,
    client_binary,
    load_chain,
    name,
    run_client,
)

NAMES = [name("dehydrated-www"), name("dehydrated-api")]


@pytest.fixture(scope="module", autouse=True)
def dehydrated_bin() -> str:
    """The client (autouse: skip, or fail under CI, before a server is started for nothing)."""
    return client_binary("dehydrated")


@dataclass
class Dehydrated:
    binary: str
    base: Path
    server: KmsServer
    wellknown: Path

    def configure(self, eab: dict[str, str]) -> None:
        self.wellknown.mkdir(parents=True, exist_ok=True)
        (self.base / "config").write_text(
            f'CA="{self.server.directory()}"\n'
            'CHALLENGETYPE="http-01"\n'
            f'WELLKNOWN="{self.wellknown}"\n'
            f'BASEDIR="{self.base}"\n'
            f'CONTACT_EMAIL="{CONTACT}"\n'
            'KEY_ALGO="secp384r1"\n'
            f'EAB_KID="{eab["kid"]}"\n'
            f'EAB_HMAC_KEY="{eab["hmacKey"]}"\n'
        )
        (self.base / "domains.txt").write_text(" ".join(NAMES) + "\n")

    def __call__(self, *args: str) -> str:
        argv = [self.binary, "--config", str(self.base / "config"), *args]
        result = run_client(argv, {"CURL_CA_BUNDLE": str(self.server.bundle)})
        return result.stdout + result.stderr

    def chain(self) -> list[x509.Certificate]:
        return load_chain(self.base / "certs" / NAMES[0] / "fullchain.pem")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def webroot(kms_server: KmsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A plain static web server on the HTTP-01 port, serving a directory: what dehydrated
    expects beside it (it only writes the token files)."""
    root = tmp_path_factory.mktemp("dehydrated-www")
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", kms_server.http01_port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def dehydrated(
    kms_server: KmsServer,
    dehydrated_bin: str,
    webroot: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Dehydrated:
    client = Dehydrated(
        dehydrated_bin,
        tmp_path_factory.mktemp("dehydrated"),
        kms_server,
        webroot / ".well-known" / "acme-challenge",
    )
    client.configure(kms_server.eab_key(cli=True))
    out = client("--register", "--accept-terms")
    assert "Done!" in out, out
    return client


def test_eab_account_gets_a_two_name_p384_certificate_by_http01(
    kms_server: KmsServer, dehydrated: Dehydrated
) -> None:
    """RFC 8555 7.3.4 (EAB), 7.4 (order, finalize), 8.3 (HTTP-01), 7.4.2 (download)."""
    out = dehydrated("--cron")
    assert out.count("Challenge is valid!") == 2, out
    leaf, *intermediates = dehydrated.chain()
    check_issued(kms_server, leaf, intermediates, NAMES)
    public_key = leaf.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp384r1"
    record = kms_server.record(leaf.serial_number)
    assert (record.status, record.request_method) == ("active", "acme")
    assert record.profile_id == kms_server.eab_profile.id
    assert not list(dehydrated.wellknown.iterdir())  # its hook cleaned the tokens up


def test_forced_renewal_then_revocation_reach_the_inventory_and_the_crl(
    kms_server: KmsServer, dehydrated: Dehydrated
) -> None:
    """A renewal reuses the account's valid authorizations (RFC 8555 7.1.3); revokeCert
    (7.6) signed with the account key, with no reason: unspecified, so the CRL entry has
    no reasonCode."""
    if not (dehydrated.base / "certs" / NAMES[0] / "fullchain.pem").exists():
        dehydrated("--cron")
    before = dehydrated.chain()[0]
    out = dehydrated("--cron", "--force")
    assert "Challenge is valid!" not in out, out  # nothing to validate again
    after, *intermediates = dehydrated.chain()
    assert after.serial_number != before.serial_number
    check_issued(kms_server, after, intermediates, NAMES)
    out = dehydrated("--revoke", str(dehydrated.base / "certs" / NAMES[0] / "cert.pem"))
    assert "Done." in out, out
    check_revoked(
        kms_server,
        after,
        intermediates[0],
        reason="UNSPECIFIED",
        crl_reason=None,
    )
    assert kms_server.record(before.serial_number).status == "active"
