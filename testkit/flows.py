"""Steps of the ACME issuance flow (CSR, polling, challenges, the whole issuance) that the tests,
bench and conformance share."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from testkit.acme_client import AcmeClient, b64
from testkit.in_process_server import AcmeServer

POLL_SECONDS = 15.0


def make_csr(
    *names: str, key: ec.EllipticCurvePrivateKey | None = None, cn: str | None = None
) -> bytes:
    import ipaddress

    key = key or ec.generate_private_key(ec.SECP256R1())
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    builder = x509.CertificateSigningRequestBuilder().add_extension(
        x509.SubjectAlternativeName(general), critical=False
    )
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = builder.subject_name(x509.Name(subject))  # certbot sends an empty subject too
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def poll(client: AcmeClient, url: str, until: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in until or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def dns01_value(client: AcmeClient, token: str) -> str:
    """RFC 8555 section 8.4: the TXT value, base64url(SHA-256(key authorization))."""
    digest = hashlib.sha256(client.key_authorization(token).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(
    server: AcmeServer,
    client: AcmeClient,
    order: dict[str, Any],
    *,
    serve: bool = True,
    challenge_type: str = "http-01",
) -> None:
    """Answer every `challenge_type` challenge of the order (dns-01 for wildcards) and wait
    for the authorizations."""
    for authz_url in order["authorizations"]:
        authz = client.get(authz_url).json()
        if authz["status"] == "valid":
            continue
        kind = "dns-01" if authz.get("wildcard") else challenge_type
        challenge = next(c for c in authz["challenges"] if c["type"] == kind)
        name = authz["identifier"]["value"]
        if kind == "dns-01":
            if serve:
                value = dns01_value(client, challenge["token"])
                server.dns.add(f"_acme-challenge.{name}", "TXT", value)
        else:
            if authz["identifier"]["type"] == "dns":
                server.dns.add(name, "A", "127.0.0.1")
            if serve:
                server.responder.add_token(
                    challenge["token"], client.key_authorization(challenge["token"])
                )
        response = client.post(challenge["url"], {})
        assert response.status_code == 200, response.text
        poll(client, authz_url, ("valid", "invalid"))


def issue(
    server: AcmeServer, client: AcmeClient, *names: str, challenge_type: str = "http-01"
) -> tuple[dict[str, Any], str]:
    """The whole flow; returns the final order and the PEM chain."""
    response = client.new_order(*names)
    assert response.status_code == 201, response.text
    order_url = response.headers["Location"]
    order = response.json()
    authorize(server, client, order, challenge_type=challenge_type)
    order = poll(client, order_url, ("ready", "invalid"))
    assert order["status"] == "ready", order
    response = client.post(order["finalize"], {"csr": b64(make_csr(*names))})
    assert response.status_code == 200, response.text
    order = poll(client, order_url, ("valid", "invalid"))
    assert order["status"] == "valid", order
    chain = client.get(order["certificate"])
    assert chain.status_code == 200, chain.text
    return order, chain.text


def crl_distribution_url(cert: x509.Certificate) -> str:
    """The first CRL distribution point a certificate names (where revocation is checked)."""
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    full_name = points[0].full_name
    assert full_name is not None
    return str(full_name[0].value)
