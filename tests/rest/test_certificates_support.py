"""Helpers of the certificate endpoint tests (no tests here): issuing through the API,
CSRs made by the `openssl` binary as a user makes them, and profiles and policies created
through the store (the policies REST API is tested on its own)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from acme_server.services.context import Services
from pki_types.model import IssuerType
from store import ProfileRecord
from testkit.in_process_server import AcmeServer
from tests.rest.conftest import with_services

CERTS = "/api/v1/cert-manager/certificates"
REQUESTS = "/api/v1/cert-manager/certificate-requests"


def issue(
    http: httpx.Client,
    *,
    profile: str = "default",
    metadata: dict[str, str] | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """Issue a managed certificate (200 asserted); returns the response body."""
    body: dict[str, Any] = {"profileId": profile, "attributes": attributes}
    if metadata is not None:
        body["metadata"] = metadata
    response = http.post(CERTS, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def certificate_of(body: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(body["certificate"]["certificate"].encode())


def chain_of(body: dict[str, Any]) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(body["certificate"]["certificateChain"].encode())


def openssl_csr(
    directory: Path,
    *,
    key: str = "rsa",
    subject: str = "/CN=app.example.com",
    sans: str | None = None,
) -> str:
    """A CSR from `openssl req`, as a user would make it; key "rsa" (2048) or "ec" (P-256)."""
    name = uuid.uuid4().hex[:8]
    newkey = ["-newkey", "rsa:2048"] if key == "rsa" else [
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    ]  # fmt: skip
    command = [
        "openssl", "req", "-new", *newkey, "-nodes",
        "-keyout", str(directory / f"{name}.key"), "-out", str(directory / f"{name}.csr"),
        "-subj", subject,
    ]  # fmt: skip
    if sans is not None:
        command += ["-addext", f"subjectAltName={sans}"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return (directory / f"{name}.csr").read_text()


def count_certificates(api: AcmeServer) -> int:
    return with_services(api, lambda s: s.store.count_certificates())


def count_requests(api: AcmeServer) -> int:
    return with_services(api, lambda s: s.store.count_certificate_requests())


def make_profile(
    api: AcmeServer,
    rules: dict[str, Any],
    *,
    self_signed: bool = False,
    defaults: dict[str, Any] | None = None,
) -> ProfileRecord:
    """A new policy and a profile using it (issued by the default profile's CA, or
    self-signed), through the store."""

    async def create(services: Services) -> ProfileRecord:
        store = services.store
        default = await store.get_default_profile()
        assert default is not None
        suffix = uuid.uuid4().hex[:8]
        policy = await store.create_policy(name=f"policy-{suffix}", rules=rules)
        return await store.create_profile(
            slug=f"profile-{suffix}",
            name=f"profile {suffix}",
            policy_id=policy.id,
            issuer_type=IssuerType.SELF_SIGNED if self_signed else IssuerType.CA,
            ca_id=None if self_signed else default.ca_id,
            enrollment={"api": {"enabled": True}},
            defaults=defaults if defaults is not None else dict(default.defaults),
        )

    return with_services(api, create)


def run_openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, timeout=60, check=False
    )
